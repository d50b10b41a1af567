use std::process::ExitCode;

use clap::Parser;
use goalert_provisioning::{
    api,
    cli::{Cli, Command},
    operator, telemetry,
};

fn main() -> ExitCode {
    tune_allocator();
    match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime.block_on(run()),
        Err(error) => {
            eprintln!("goalert-provisioning: error: cannot start the async runtime: {error}");
            ExitCode::FAILURE
        }
    }
}

/// glibc's allocator keeps freed memory for reuse, in two ways that hold it long after a pass
/// over the organisation: each thread that allocates while another does gets an arena of its own
/// (up to eight per core), and the size above which a block gets pages of its own, returned when
/// it is freed, grows to that of the largest block freed so far (32 MiB at most): a page of a
/// GoAlert listing. An operator restarted over 1,000 converged resources held 44.6 MiB after two
/// resyncs by default, 41.5 with two arenas and 37.2 with two arenas and a fixed threshold of
/// 32 KiB (runs one after the other on the benchmark testbed); `e2e/bench.sh convergence` and
/// `memory` measure the result. Set before the runtime starts threads: glibc fixes the arena
/// limit when a second thread first needs one.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn tune_allocator() {
    #[allow(unsafe_code)]
    // SAFETY: mallopt only changes parameters of the allocator, under the allocator's own lock.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, 2);
        libc::mallopt(libc::M_MMAP_THRESHOLD, 32 * 1024);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn tune_allocator() {}

async fn run() -> ExitCode {
    goalert_client::tls::ensure_crypto_provider();
    let cli = Cli::parse();
    telemetry::init(&cli.log_format);
    let result = match cli.command {
        Command::Run(args) => operator::run(*args).await,
        Command::Crdgen { root } => api::write_all(&root).map_err(Into::into),
        Command::PrintApiKeyQuery => {
            print!("{}", goalert_client::OPERATOR_DOCUMENT);
            Ok(())
        }
        Command::CreateApiKey(args) => args.create().await.map(|key| println!("{}", key.expose())),
        Command::Export(args) => args.run().await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("goalert-provisioning: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
