//! The `cube-emulator` binary: flags → config, ready line on stdout, logs
//! on stderr, clean stop on SIGINT/SIGTERM.

mod cli;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;
use cube_emulator::Emulator;

fn main() -> ExitCode {
    // Help and version go to stdout with status 0; a bad flag or value is
    // a one-line reason and a usage line on stderr, with status 2.
    let config = match cli::Cli::try_parse() {
        Ok(cli) => cli.into_config(),
        Err(err) => {
            let _ = err.print();
            return ExitCode::from(u8::try_from(err.exit_code()).unwrap_or(2));
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cube-emulator: cannot start the runtime: {err}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        let emulator = match Emulator::start(config).await {
            Ok(emulator) => emulator,
            Err(err) => {
                eprintln!("cube-emulator: {err}");
                return ExitCode::FAILURE;
            }
        };
        let mut stdout = std::io::stdout().lock();
        let _ = writeln!(stdout, "cube-emulator listening on {}", emulator.base_url());
        let _ = stdout.flush();
        drop(stdout);
        wait_for_signal().await;
        tracing::info!("stopping");
        emulator.stop().await;
        ExitCode::SUCCESS
    })
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
