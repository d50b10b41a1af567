//! The benchmark suites' load generator (e2e/bench/webhook.py): POSTs one JSON body to one URL
//! from N concurrent clients, each on a connection of its own, for a fixed time after a warm-up,
//! and prints for each N the answers per second and the p50/p99 latency as one JSON array.
//! Python's clients cannot send the thousands of requests a second this has to.
//!
//! bench-load --url URL --body FILE [--header 'Name: value']... [--expect TEXT]
//!            [--clients 1,50,200] [--seconds 10] [--warmup 2]
//!
//! An answer counts when its status is 2xx and its body contains --expect (if given); others are
//! counted as errors, the first one kept for the report. Certificates are not verified: the
//! endpoints are the testbed's, on 127.0.0.1, with certificates made for the testbed.

use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde_json::{Value, json};

struct Args {
    url: String,
    body: Vec<u8>,
    headers: Vec<(String, String)>,
    expect: Option<String>,
    clients: Vec<usize>,
    seconds: f64,
    warmup: f64,
}

fn parse() -> Result<Args> {
    let mut args = Args {
        url: String::new(),
        body: Vec::new(),
        headers: vec![("content-type".into(), "application/json".into())],
        expect: None,
        clients: vec![1, 50, 200],
        seconds: 10.0,
        warmup: 2.0,
    };
    let mut given = std::env::args().skip(1);
    while let Some(flag) = given.next() {
        let value = given.next().with_context(|| format!("{flag} needs a value"))?;
        match flag.as_str() {
            "--url" => args.url = value,
            "--body" => args.body = std::fs::read(&value).with_context(|| format!("reading {value}"))?,
            "--header" => {
                let (name, value) = value.split_once(':').context("a header is 'Name: value'")?;
                args.headers.push((name.trim().into(), value.trim().into()));
            }
            "--expect" => args.expect = Some(value),
            "--clients" => {
                args.clients = value
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()
                    .context("--clients is a comma-separated list of counts")?
            }
            "--seconds" => args.seconds = value.parse()?,
            "--warmup" => args.warmup = value.parse()?,
            other => bail!("unknown flag {other}"),
        }
    }
    if args.url.is_empty() || args.body.is_empty() {
        bail!("--url and --body are required");
    }
    Ok(args)
}

/// What one client saw while measuring: its latencies, its errors and the first of them.
#[derive(Default)]
struct Seen {
    latencies: Vec<Duration>,
    errors: u64,
    first_error: Option<String>,
}

async fn send(client: &reqwest::Client, args: &Args) -> Result<(), String> {
    let mut request = client.post(&args.url).body(args.body.clone());
    for (name, value) in &args.headers {
        request = request.header(name, value);
    }
    let response = request.send().await.map_err(|e| e.to_string())?;
    let status = response.status();
    let body = response.text().await.map_err(|e| e.to_string())?;
    let expected = args.expect.as_ref().is_none_or(|text| body.contains(text));
    if status.is_success() && expected {
        Ok(())
    } else {
        Err(format!(
            "HTTP {status}: {}",
            body.chars().take(300).collect::<String>()
        ))
    }
}

async fn measure(args: &'static Args, clients: usize) -> Result<Value> {
    let measuring = Instant::now() + Duration::from_secs_f64(args.warmup);
    let end = measuring + Duration::from_secs_f64(args.seconds);
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let client = reqwest::Client::builder()
            .danger_accept_invalid_certs(true)
            .timeout(Duration::from_secs(30))
            .build()?;
        tasks.push(tokio::spawn(async move {
            let mut seen = Seen::default();
            loop {
                let sent = Instant::now();
                if sent >= end {
                    return seen;
                }
                let outcome = send(&client, args).await;
                if sent < measuring {
                    continue;
                }
                match outcome {
                    Ok(()) => seen.latencies.push(sent.elapsed()),
                    Err(error) => {
                        seen.errors += 1;
                        seen.first_error.get_or_insert(error);
                    }
                }
            }
        }));
    }
    let mut all = Seen::default();
    for task in tasks {
        let seen = task.await?;
        all.latencies.extend(seen.latencies);
        all.errors += seen.errors;
        all.first_error = all.first_error.or(seen.first_error);
    }
    all.latencies.sort();
    let quantile = |q: f64| {
        let index = ((all.latencies.len() as f64 * q) as usize).min(all.latencies.len().saturating_sub(1));
        all.latencies
            .get(index)
            .map_or(f64::NAN, |d| d.as_secs_f64() * 1000.0)
    };
    Ok(json!({
        "clients": clients,
        "answers": all.latencies.len(),
        "errors": all.errors,
        "firstError": all.first_error,
        "perSecond": all.latencies.len() as f64 / args.seconds,
        "p50Ms": quantile(0.50),
        "p99Ms": quantile(0.99),
        "maxMs": quantile(1.0),
    }))
}

#[tokio::main]
async fn main() -> Result<()> {
    goalert_client::tls::ensure_crypto_provider();
    // Every client task borrows the settings for the whole run.
    let args: &'static Args = Box::leak(Box::new(parse()?));
    let mut results = Vec::new();
    for &clients in &args.clients {
        results.push(measure(args, clients).await?);
    }
    println!("{}", serde_json::to_string_pretty(&results)?);
    Ok(())
}
