//! `sarvam-doc`: run documents through Sarvam AI's Document Intelligence
//! job API, watch and fetch jobs, and run a local simulator of the API.
//!
//! Exit codes: 0 completed · 1 error (API, transport, protocol, I/O) ·
//! 2 usage or bad input · 3 partially completed · 4 job failed · 5 gave up
//! waiting (deadline, or a job stalled) · 130 interrupted (Ctrl-C).
#![forbid(unsafe_code)]

/// Prints a line to stdout; a closed pipe (`| head`) is not an error worth a panic.
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout().lock(), $($arg)*);
    }};
}

/// Prints a line to stderr, ignoring a closed pipe.
macro_rules! err {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

mod args;
mod jobs;
mod report;
mod run;
mod setup;
mod sim;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Run documents through Sarvam AI's Document Intelligence job API.
///
/// The API key comes from SARVAM_API_KEY or --api-key-file, never from the
/// command line. Exit codes: 0 completed, 1 error, 2 usage or bad input,
/// 3 partially completed, 4 job failed, 5 gave up waiting, 130 interrupted.
#[derive(Debug, Parser)]
#[command(name = "sarvam-doc", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

/// Options every command takes.
#[derive(Debug, Args)]
struct Global {
    /// The API's base URL (https, or http to loopback).
    #[arg(long, env = "SARVAM_BASE_URL", default_value = sarvam_doc_core::DEFAULT_BASE_URL, global = true)]
    base_url: String,
    /// Read the API key from this file instead of SARVAM_API_KEY.
    #[arg(long, value_name = "PATH", global = true)]
    api_key_file: Option<PathBuf>,
    /// Show each request (method, path, status, time) on stderr. Never the key.
    #[arg(long, short, global = true)]
    verbose: bool,
    /// Which certificates to trust for https: webpki (Mozilla's, built in) or
    /// os (the system's store, for proxies that re-sign TLS).
    #[arg(
        long,
        value_enum,
        env = "SARVAM_TLS_ROOTS",
        default_value = "webpki",
        global = true
    )]
    tls_roots: TlsRoots,
    /// Which API to speak: legacy (/doc-digitization/job/v1, the default)
    /// or doc-ai (/doc-ai/v1, Sarvam's current API). `extract` is doc-ai only.
    #[arg(long, value_enum, env = "SARVAM_API", global = true)]
    api: Option<ApiArg>,
}

/// Which API to speak.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum ApiArg {
    /// /doc-digitization/job/v1: create, upload, start, status, download.
    Legacy,
    /// /doc-ai/v1: presign and upload, submit, status, results, download URL.
    #[value(name = "doc-ai")]
    DocAi,
}

impl Global {
    /// The API asked for, legacy when none was.
    fn api_version(&self) -> sarvam_doc_core::ApiVersion {
        match self.api {
            Some(ApiArg::DocAi) => sarvam_doc_core::ApiVersion::DocAi,
            _ => sarvam_doc_core::ApiVersion::Legacy,
        }
    }
}

/// Which certificates to trust.
#[derive(Clone, Copy, Debug, clap::ValueEnum)]
enum TlsRoots {
    /// Mozilla's roots, built in.
    Webpki,
    /// The operating system's certificate store.
    Os,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Show a job's status.
    Status {
        /// The job's id (a UUID on the legacy API; as the run printed it on doc-ai).
        job_id: String,
        /// Print one JSON document: the status with the API's field names, plus the outcome.
        #[arg(long)]
        json: bool,
    },
    /// Wait for a job to end, then show how it ended (and, with --out, fetch its outputs).
    Wait {
        /// The job's id (a UUID on the legacy API; as the run printed it on doc-ai).
        job_id: String,
        /// Fetch the outputs when the job ends, into a folder of DIR named after the job's input.
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// Replace an output folder that exists already.
        #[arg(long, requires = "out")]
        overwrite: bool,
        #[command(flatten)]
        limits: args::LimitArgs,
        /// Print one JSON document: the status with the API's field names, plus the outcome.
        #[arg(long)]
        json: bool,
    },
    /// Fetch the outputs of a job that has ended, into a folder of DIR named after its input.
    Download {
        /// The job's id (a UUID on the legacy API; as the run printed it on doc-ai).
        job_id: String,
        #[command(flatten)]
        output: args::OutputArgs,
        #[command(flatten)]
        limits: args::LimitArgs,
        /// Print one JSON document: the status with the API's field names, plus the outcome.
        #[arg(long)]
        json: bool,
    },
    /// Run files through the whole job: upload, start, wait, download.
    /// Reruns with the same --out resume from its journal.
    Run(args::RunArgs),
    /// Extract fields from files by a JSON schema or a saved configuration
    /// (/doc-ai/v1): each file's results.json, and its output file, beside
    /// its pages. Reruns with the same --out resume from its journal.
    Extract(args::ExtractArgs),
    /// Run the local simulator of the API in the foreground.
    Sim(args::SimArgs),
    /// Run a generated sample document through an in-process simulator.
    Demo {
        /// Where to put the outputs.
        #[arg(long, default_value = "sarvam-demo-output")]
        out: PathBuf,
    },
}

/// The exit codes of the CLI contract.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Exit {
    Completed = 0,
    PartiallyCompleted = 3,
    Failed = 4,
    GaveUp = 5,
    Error = 1,
    Usage = 2,
    Interrupted = 130,
}

impl Exit {
    /// How bad an exit is, to pick one for several files.
    fn severity(self) -> u8 {
        match self {
            Exit::Completed => 0,
            Exit::PartiallyCompleted => 1,
            Exit::Failed => 2,
            Exit::GaveUp => 3,
            Exit::Error => 4,
            Exit::Usage => 5,
            Exit::Interrupted => 6,
        }
    }
}

/// A failure that ends the command: its exit code and one clear line.
#[derive(Debug)]
struct Failure {
    exit: Exit,
    message: String,
}

impl Failure {
    fn usage(message: impl Into<String>) -> Self {
        Failure {
            exit: Exit::Usage,
            message: message.into(),
        }
    }

    fn error(message: impl Into<String>) -> Self {
        Failure {
            exit: Exit::Error,
            message: message.into(),
        }
    }
}

async fn dispatch(cli: Cli) -> Result<Exit, Failure> {
    match cli.command {
        Command::Status { job_id, json } => jobs::status(&cli.global, &job_id, json).await,
        Command::Wait {
            job_id,
            out,
            overwrite,
            limits,
            json,
        } => {
            let output = out.map(|out| args::OutputArgs { out, overwrite });
            jobs::wait(&cli.global, &job_id, output.as_ref(), &limits, json).await
        }
        Command::Download {
            job_id,
            output,
            limits,
            json,
        } => jobs::download(&cli.global, &job_id, &output, &limits, json).await,
        Command::Run(args) => {
            let client = setup::client(&cli.global)?;
            let job = run::job(&args, cli.global.api_version())?;
            run::run(&client, &args.batch, job).await
        }
        Command::Extract(args) => {
            if cli.global.api == Some(ApiArg::Legacy) {
                return Err(Failure::usage(
                    "extract exists only on /doc-ai/v1: drop --api legacy (or SARVAM_API=legacy)",
                ));
            }
            let job = run::extract_job(&args)?;
            let client = setup::client_for(&cli.global, sarvam_doc_core::ApiVersion::DocAi)?;
            run::run(&client, &args.batch, job).await
        }
        Command::Sim(args) => sim::sim(&args).await,
        Command::Demo { out } => sim::demo(&out, cli.global.api_version()).await,
    }
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Exit::Usage as u8 } else { 0 });
        }
    };
    if cli.global.verbose {
        report::init_verbose();
    }
    report::set_api(match cli.command {
        Command::Extract(_) => sarvam_doc_core::ApiVersion::DocAi,
        _ => cli.global.api_version(),
    });
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            err!("error: cannot start the async runtime: {e}");
            return ExitCode::from(Exit::Error as u8);
        }
    };
    let result = runtime.block_on(dispatch(cli));
    // Wait (briefly) for blocking work that is cleaning up after an
    // interrupt (an unpack removing its staging folder); nothing else is left.
    runtime.shutdown_timeout(std::time::Duration::from_secs(10));
    match result {
        Ok(exit) => ExitCode::from(exit as u8),
        Err(failure) => {
            err!("error: {}", failure.message);
            ExitCode::from(failure.exit as u8)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_limits_have_one_default() {
        let cli =
            Cli::try_parse_from(["sarvam-doc", "wait", "3fa85f64-5717-4562-b3fc-2c963f66afa6"])
                .unwrap_or_else(|e| panic!("{e}"));
        let Command::Wait { limits, .. } = cli.command else {
            panic!()
        };
        let defaults = args::LimitArgs::default();
        assert_eq!(
            (
                limits.timeout,
                limits.max_download,
                limits.max_entries,
                limits.max_unpacked,
                limits.max_ratio,
                limits.max_retry_after
            ),
            (
                defaults.timeout,
                defaults.max_download,
                defaults.max_entries,
                defaults.max_unpacked,
                defaults.max_ratio,
                defaults.max_retry_after
            )
        );
    }
}
