use std::process::ExitCode;

use clap::Parser;
use goalert_provisioning::{
    api,
    cli::{Cli, Command},
    operator, telemetry,
};

#[tokio::main]
async fn main() -> ExitCode {
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
