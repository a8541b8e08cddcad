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
mod help;
mod jobs;
mod report;
mod run;
mod setup;
mod sim;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};

/// Run documents through Sarvam AI's Document Intelligence APIs.
#[derive(Debug, Parser)]
#[command(
    name = "sarvam-doc",
    version,
    about = help::ABOUT,
    after_help = help::AFTER_HELP,
    propagate_version = true
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How to reach the API: the options of every command that talks to it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
struct Global {
    /// Which API to speak: legacy (/doc-digitization/job/v1, the default)
    /// or doc-ai (/doc-ai/v1, Sarvam's current API, what it advises for new work).
    #[arg(long, value_enum, env = "SARVAM_API")]
    api: Option<ApiArg>,
    /// The API's base URL (https, or http to loopback).
    #[arg(long, env = "SARVAM_BASE_URL", default_value = sarvam_doc_core::DEFAULT_BASE_URL)]
    base_url: String,
    /// Read the API key from this file instead of SARVAM_API_KEY.
    #[arg(long, value_name = "PATH")]
    api_key_file: Option<PathBuf>,
    /// Which certificates to trust for https: webpki (Mozilla's, built in) or
    /// os (the system's store, for proxies that re-sign TLS).
    #[arg(long, value_enum, env = "SARVAM_TLS_ROOTS", default_value = "webpki")]
    tls_roots: TlsRoots,
    /// Log each job and each request (endpoint, attempt, retry, status,
    /// time, the server's request id) on stderr. Never the key.
    #[arg(long, short)]
    verbose: bool,
    /// How the log is written: text for people, json (one object a line)
    /// for a pipeline; json logs each job's steps even without --verbose.
    #[arg(long, value_enum, default_value = "text")]
    log_format: LogFormat,
}

/// How the log is written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Lines for people.
    Text,
    /// One JSON object a line.
    Json,
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

impl ApiArg {
    fn version(api: Option<ApiArg>) -> sarvam_doc_core::ApiVersion {
        match api {
            Some(ApiArg::DocAi) => sarvam_doc_core::ApiVersion::DocAi,
            _ => sarvam_doc_core::ApiVersion::Legacy,
        }
    }
}

impl Global {
    /// The API asked for, legacy when none was.
    fn api_version(&self) -> sarvam_doc_core::ApiVersion {
        ApiArg::version(self.api)
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
    /// Run files through the whole job: upload, start, wait, download.
    #[command(long_about = help::RUN, after_help = help::after(help::RUN_AFTER))]
    Run(args::RunArgs),
    /// Extract fields from files by a JSON schema or a saved configuration (/doc-ai/v1).
    #[command(long_about = help::EXTRACT, after_help = help::after(help::EXTRACT_AFTER))]
    Extract(args::ExtractArgs),
    /// Show a job's status, once.
    #[command(long_about = help::STATUS, after_help = help::after(help::STATUS_AFTER))]
    Status {
        /// The job's id: a UUID on the legacy API, as the run printed it on doc-ai.
        job_id: String,
        /// Print one JSON document: the status with the API's field names, plus the outcome.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Wait for a job to end, then show how it ended (with --out, fetch its outputs too).
    #[command(long_about = help::WAIT, after_help = help::after(help::WAIT_AFTER))]
    Wait {
        /// The job's id: a UUID on the legacy API, as the run printed it on doc-ai.
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
        #[command(flatten)]
        global: Global,
    },
    /// Fetch the outputs of a job that has ended.
    #[command(long_about = help::DOWNLOAD, after_help = help::after(help::DOWNLOAD_AFTER))]
    Download {
        /// The job's id: a UUID on the legacy API, as the run printed it on doc-ai.
        job_id: String,
        #[command(flatten)]
        output: args::OutputArgs,
        #[command(flatten)]
        limits: args::LimitArgs,
        /// Print one JSON document: the status with the API's field names, plus the outcome.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        global: Global,
    },
    /// Run the local simulator of both APIs in the foreground.
    #[command(long_about = help::SIM, after_help = help::SIM_AFTER)]
    Sim(args::SimArgs),
    /// Run a sample document through the whole job against a built-in simulator.
    #[command(long_about = help::DEMO, after_help = help::DEMO_AFTER)]
    Demo {
        /// Where to put the sample and its outputs.
        #[arg(long, default_value = "sarvam-demo-output", value_name = "DIR")]
        out: PathBuf,
        /// Which API the simulator and the client speak: legacy or doc-ai.
        #[arg(long, value_enum)]
        api: Option<ApiArg>,
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

async fn dispatch(command: Command) -> Result<Exit, Failure> {
    match command {
        Command::Status {
            job_id,
            json,
            global,
        } => jobs::status(&global, &job_id, json).await,
        Command::Wait {
            job_id,
            out,
            overwrite,
            limits,
            json,
            global,
        } => {
            let output = out.map(|out| args::OutputArgs { out, overwrite });
            jobs::wait(&global, &job_id, output.as_ref(), &limits, json).await
        }
        Command::Download {
            job_id,
            output,
            limits,
            json,
            global,
        } => jobs::download(&global, &job_id, &output, &limits, json).await,
        Command::Run(args) => {
            let client = setup::client(&args.batch.global)?;
            let job = run::job(&args, args.batch.global.api_version())?;
            run::run(&client, &args.batch, job).await
        }
        Command::Extract(args) => {
            if args.batch.global.api == Some(ApiArg::Legacy) {
                return Err(Failure::usage(
                    "extract exists only on /doc-ai/v1: drop --api legacy (or SARVAM_API=legacy)",
                ));
            }
            let job = run::extract_job(&args)?;
            let client = setup::client_for(&args.batch.global, sarvam_doc_core::ApiVersion::DocAi)?;
            run::run(&client, &args.batch, job).await
        }
        Command::Sim(args) => sim::sim(&args).await,
        Command::Demo { out, api } => sim::demo(&out, ApiArg::version(api)).await,
    }
}

/// The connection options of the command, if it talks to the API.
fn global_of(command: &Command) -> Option<&Global> {
    match command {
        Command::Status { global, .. }
        | Command::Wait { global, .. }
        | Command::Download { global, .. } => Some(global),
        Command::Run(args) => Some(&args.batch.global),
        Command::Extract(args) => Some(&args.batch.global),
        Command::Sim(_) | Command::Demo { .. } => None,
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
    if let Some(global) = global_of(&cli.command) {
        report::init_log(global.verbose, global.log_format == LogFormat::Json);
    }
    report::set_api(match &cli.command {
        Command::Extract(_) => sarvam_doc_core::ApiVersion::DocAi,
        Command::Demo { api, .. } => ApiArg::version(*api),
        other => global_of(other).map_or(sarvam_doc_core::ApiVersion::Legacy, Global::api_version),
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
    let result = runtime.block_on(dispatch(cli.command));
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
                limits.max_retry_after,
                limits.stall_limit
            ),
            (
                defaults.timeout,
                defaults.max_download,
                defaults.max_entries,
                defaults.max_unpacked,
                defaults.max_ratio,
                defaults.max_retry_after,
                defaults.stall_limit
            )
        );
    }
}
