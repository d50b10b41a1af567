//! gctl's entry point: parse, run, and turn the outcome into a documented exit code.

use std::process::ExitCode;

use clap::Parser;
use gctl::cli::Cli;

fn main() -> ExitCode {
    gctl::complete::answer_if_asked();
    let cli = Cli::parse();
    goalert_client::tls::ensure_crypto_provider();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    match runtime.block_on(gctl::run(cli)) {
        Ok(()) => ExitCode::SUCCESS,
        // The reader went away (`gctl ... | head`): nothing is left to say, and nobody to say it to.
        Err(gctl::Error::Io(error)) if error.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("gctl: error: {error}");
            ExitCode::from(error.exit_code() as u8)
        }
    }
}
