//! The fuzz bodies on stable Rust, without libFuzzer or cargo-fuzz: each corpus entry once, then
//! random mutations of them (JSON-aware and byte-level) until the time is up. It has no coverage
//! guidance, so it finds less than `cargo fuzz` per second; it exists so that CI can run every
//! body on a fresh machine at the cost of one ordinary build.
//!
//! ```text
//! drive seed <dir>                         write review_bytes' seed corpus into <dir>
//! drive run <target> <seconds> [<dir>...]  run a target on the files in <dir>s, then on mutations
//! ```
//!
//! `run` prints `target=… runs=… seconds=… crashes=0 seed=…`; FUZZ_SEED repeats a run. A failing
//! input is written to fuzz/artifacts/<target>/ and the exit code is 1.

use std::{
    panic::{AssertUnwindSafe, catch_unwind},
    path::{Path, PathBuf},
    process::ExitCode,
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use goalert_provisioning_fuzz::{review::review_bytes, seeds, specs};
use serde_json::{Value, json};

const USAGE: &str =
    "usage: drive seed <dir> | drive run <review_bytes|structured_specs> <seconds> [<corpus-dir>...]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let result = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["seed", dir] => write_seeds(&root, Path::new(dir)),
        ["run", target, seconds, ..] => match seconds.parse() {
            Ok(seconds) => run(&root, target, Duration::from_secs(seconds), &args[3..]),
            Err(_) => Err(format!("{seconds:?} is not a number of seconds")),
        },
        _ => Err(USAGE.to_owned()),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("drive: {message}");
            ExitCode::from(2)
        }
    }
}

fn write_seeds(root: &Path, dir: &Path) -> Result<ExitCode, String> {
    let seeds = seeds::reviews(root).map_err(|e| format!("reading the manifests: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for (name, review) in &seeds {
        let path = dir.join(format!("seed-{name}.json"));
        std::fs::write(&path, review).map_err(|e| format!("{}: {e}", path.display()))?;
    }
    println!("{} seeds in {}", seeds.len(), dir.display());
    Ok(ExitCode::SUCCESS)
}

fn run(root: &Path, target: &str, duration: Duration, dirs: &[String]) -> Result<ExitCode, String> {
    let body: fn(&[u8]) = match target {
        "review_bytes" => review_bytes,
        "structured_specs" => specs::structured_specs,
        _ => return Err(USAGE.to_owned()),
    };
    let mut corpus = Vec::new();
    for dir in dirs {
        corpus.extend(read_dir(Path::new(dir))?);
    }
    let seed = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default();
            u64::from(std::process::id()) ^ now.as_nanos() as u64
        });
    let mut rng = Rng(seed ^ 0x9e37_79b9_7f4a_7c15);
    let started = Instant::now();
    let mut runs = 0u64;
    let mut inputs = corpus.clone().into_iter();
    while started.elapsed() < duration || inputs.len() > 0 {
        let input = inputs.next().unwrap_or_else(|| next_input(&mut rng, &corpus));
        runs += 1;
        if catch_unwind(AssertUnwindSafe(|| body(&input))).is_err() {
            let path = save_crash(root, target, &input)?;
            println!(
                "target={target} runs={runs} seconds={} crashes=1 seed={seed} crash={}",
                started.elapsed().as_secs(),
                path.display()
            );
            return Ok(ExitCode::FAILURE);
        }
    }
    println!(
        "target={target} runs={runs} seconds={} crashes=0 seed={seed} corpus={}",
        started.elapsed().as_secs(),
        corpus.len()
    );
    Ok(ExitCode::SUCCESS)
}

fn read_dir(dir: &Path) -> Result<Vec<Vec<u8>>, String> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Ok(Vec::new()); // a corpus folder libFuzzer has not made yet
    };
    entries
        .filter_map(Result::ok)
        .filter(|entry| entry.path().is_file())
        .map(|entry| std::fs::read(entry.path()).map_err(|e| format!("{}: {e}", entry.path().display())))
        .collect()
}

fn save_crash(root: &Path, target: &str, input: &[u8]) -> Result<PathBuf, String> {
    let dir = root.join("fuzz/artifacts").join(target);
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    // FNV-1a: a stable name, so the same failure found twice is one file.
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = dir.join(format!("crash-drive-{hash:016x}"));
    std::fs::write(&path, input).map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(path)
}

/// splitmix64: enough randomness for picking mutations, and repeatable from FUZZ_SEED.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.next() as u8).collect()
    }
}

/// A new input: a corpus entry mutated as JSON (most often), or as bytes, or random bytes.
fn next_input(rng: &mut Rng, corpus: &[Vec<u8>]) -> Vec<u8> {
    if corpus.is_empty() || rng.below(8) == 0 {
        let length = rng.below(2048);
        return rng.bytes(length);
    }
    let mut input = corpus[rng.below(corpus.len())].clone();
    if rng.below(4) > 0
        && let Ok(mut value) = serde_json::from_slice::<Value>(&input)
    {
        for _ in 0..=rng.below(4) {
            mutate_json(rng, &mut value);
        }
        return serde_json::to_vec(&value).expect("JSON values serialize");
    }
    for _ in 0..=rng.below(8) {
        mutate_bytes(rng, &mut input);
    }
    input
}

/// Replaces, removes or adds at one node of the tree, picked uniformly.
fn mutate_json(rng: &mut Rng, value: &mut Value) {
    fn count(value: &Value) -> usize {
        1 + match value {
            Value::Array(items) => items.iter().map(count).sum(),
            Value::Object(map) => map.values().map(count).sum(),
            _ => 0,
        }
    }
    fn nth(value: &mut Value, n: usize) -> Option<&mut Value> {
        if n == 0 {
            return Some(value);
        }
        let mut n = n - 1;
        let children: Box<dyn Iterator<Item = &mut Value>> = match value {
            Value::Array(items) => Box::new(items.iter_mut()),
            Value::Object(map) => Box::new(map.values_mut()),
            _ => return None,
        };
        for child in children {
            let size = count(child);
            if n < size {
                return nth(child, n);
            }
            n -= size;
        }
        None
    }
    let n = rng.below(count(value));
    let Some(node) = nth(value, n) else { return };
    match (node, rng.below(4)) {
        (Value::Array(items), 0) if !items.is_empty() => {
            let item = items[rng.below(items.len())].clone();
            items.push(item);
        }
        (Value::Array(items), 1) if !items.is_empty() => {
            items.remove(rng.below(items.len()));
        }
        (Value::Object(map), 0) if !map.is_empty() => {
            let key = map.keys().nth(rng.below(map.len())).cloned().unwrap_or_default();
            map.remove(&key);
        }
        (Value::Object(map), 1) => {
            let key = specs::STRINGS[rng.below(specs::STRINGS.len())].to_owned();
            map.insert(key, leaf(rng));
        }
        (Value::String(s), 0) => s.push_str(&s.clone()),
        (node, _) => *node = leaf(rng),
    }
}

fn leaf(rng: &mut Rng) -> Value {
    match rng.below(8) {
        0 => Value::Null,
        1 => json!(rng.below(2) == 0),
        2 => json!([0, 1, -1, 3, 60, 1440, i64::MAX, i64::MIN][rng.below(8)]),
        3 => json!(rng.next() as f64 / 7.0),
        4 => json!([]),
        5 => json!({}),
        _ => json!(specs::STRINGS[rng.below(specs::STRINGS.len())]),
    }
}

fn mutate_bytes(rng: &mut Rng, input: &mut Vec<u8>) {
    if input.is_empty() {
        input.push(rng.next() as u8);
        return;
    }
    let at = rng.below(input.len());
    match rng.below(4) {
        0 => input[at] ^= 1 << rng.below(8),
        1 => input.insert(at, rng.next() as u8),
        2 => {
            let end = (at + rng.below(16)).min(input.len());
            input.drain(at..end);
        }
        _ => {
            let end = (at + rng.below(64)).min(input.len());
            let copy = input[at..end].to_vec();
            let to = rng.below(input.len());
            input.splice(to..to, copy);
        }
    }
}
