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
mod mcp;
mod report;
mod run;
mod setup;
mod sim;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::parser::ValueSource;
use clap::{ArgMatches, Args, CommandFactory, FromArgMatches, Parser, Subcommand};

/// Run documents through Sarvam AI's Document Intelligence APIs.
#[derive(Debug, Parser)]
#[command(
    name = "sarvam-doc",
    version,
    about = help::ABOUT,
    after_help = help::AFTER_HELP,
    propagate_version = true,
    // The connection options before the command are hidden here: each
    // command that takes them lists them in its own help.
    mut_args(|arg| arg.hide(true))
)]
struct Cli {
    /// The connection options given before the command. They count as given
    /// after it (see [`Cli::parse_command`]).
    #[command(flatten)]
    leading: Global,
    #[command(subcommand)]
    command: Command,
}

impl Cli {
    /// Parses a command line. The connection options may go before the
    /// command or after it: one given before counts as given after (over
    /// the environment and the default, as there). One given in both places
    /// is refused, as is one given before `sim` or `demo`, which take none:
    /// the command line says one thing or it is a usage error (exit 2).
    fn parse_command<I, T>(args: I) -> Result<Command, clap::Error>
    where
        I: IntoIterator<Item = T>,
        T: Into<OsString> + Clone,
    {
        let mut cli = Cli::command();
        let matches = cli.try_get_matches_from_mut(args)?;
        let Cli {
            leading,
            mut command,
        } = Cli::from_arg_matches(&matches)?;
        let on_line =
            |m: &ArgMatches, id: &str| m.value_source(id) == Some(ValueSource::CommandLine);
        let before: Vec<(String, String)> = Global::augment_args(clap::Command::new("connection"))
            .get_arguments()
            .filter(|arg| on_line(&matches, arg.get_id().as_str()))
            .map(|arg| (arg.get_id().to_string(), flag_name(arg)))
            .collect();
        // The command is required: clap has refused a line without one.
        let (Some((first, flag)), Some((name, after))) = (before.first(), matches.subcommand())
        else {
            return Ok(command);
        };
        let Some(global) = global_of_mut(&mut command) else {
            let own = if name == "demo" && first == "api" {
                " (the demo's own --api goes after it: sarvam-doc demo --api doc-ai)"
            } else {
                ""
            };
            return Err(cli.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!(
                    "`sarvam-doc {name}` takes no connection options: drop {flag} before it{own}"
                ),
            ));
        };
        if let Some((_, flag)) = before.iter().find(|(id, _)| on_line(after, id)) {
            return Err(cli.error(
                clap::error::ErrorKind::ArgumentConflict,
                format!("{flag} is given both before and after `{name}`: give it once"),
            ));
        }
        global.take_leading(leading, |id| before.iter().any(|(b, _)| b == id));
        Ok(command)
    }
}

/// How an option is written: `--api`, `-v/--verbose`.
fn flag_name(arg: &clap::Arg) -> String {
    match (arg.get_short(), arg.get_long()) {
        (Some(short), Some(long)) => format!("-{short}/--{long}"),
        (None, Some(long)) => format!("--{long}"),
        (Some(short), None) => format!("-{short}"),
        (None, None) => arg.get_id().to_string(),
    }
}

/// How to reach the API: the options of every command that talks to it.
#[derive(Debug, Args)]
#[command(next_help_heading = "Connection")]
pub(crate) struct Global {
    /// Which API to speak: legacy (/doc-digitization/job/v1, the default)
    /// or doc-ai (/doc-ai/v1, Sarvam's current API, what it advises for new work).
    #[arg(long, value_enum, env = "SARVAM_API")]
    api: Option<ApiArg>,
    /// The API's base URL (https, or http to loopback).
    #[arg(long, env = "SARVAM_BASE_URL", default_value = sarvam_doc_core::config::DEFAULT_BASE_URL)]
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
    fn version(api: Option<ApiArg>) -> sarvam_doc_core::config::ApiVersion {
        match api {
            Some(ApiArg::DocAi) => sarvam_doc_core::config::ApiVersion::DocAi,
            _ => sarvam_doc_core::config::ApiVersion::Legacy,
        }
    }
}

impl Global {
    /// The API asked for, legacy when none was.
    fn api_version(&self) -> sarvam_doc_core::config::ApiVersion {
        ApiArg::version(self.api)
    }

    /// Takes from `leading` each option that `given` names (by its id).
    fn take_leading(&mut self, leading: Global, given: impl Fn(&str) -> bool) {
        // Written out whole, so that a new option cannot be forgotten here.
        let Global {
            api,
            base_url,
            api_key_file,
            tls_roots,
            verbose,
            log_format,
        } = leading;
        if given("api") {
            self.api = api;
        }
        if given("base_url") {
            self.base_url = base_url;
        }
        if given("api_key_file") {
            self.api_key_file = api_key_file;
        }
        if given("tls_roots") {
            self.tls_roots = tls_roots;
        }
        if given("verbose") {
            self.verbose = verbose;
        }
        if given("log_format") {
            self.log_format = log_format;
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
    /// Serve digitise, extract and job_status to AI agents over MCP (stdio).
    #[command(long_about = help::MCP, after_help = help::after(help::MCP_AFTER))]
    Mcp(args::McpArgs),
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
        /// The sample's pages. Over 10 (a job's limit), it is cut into jobs
        /// of at most 10 pages, run side by side, and stitched back.
        #[arg(long, default_value_t = 3, value_name = "N",
              value_parser = clap::value_parser!(u32).range(1..=300))]
        pages: u32,
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
            let client = setup::client_for(
                &args.batch.global,
                sarvam_doc_core::config::ApiVersion::DocAi,
            )?;
            // A schema's field names are the user's text: one may hold the key.
            let job = run::extract_job(&args).map_err(|mut failure| {
                failure.message = client.api().config().api_key().redact(&failure.message);
                failure
            })?;
            run::run(&client, &args.batch, job).await
        }
        Command::Mcp(args) => mcp::serve(args).await,
        Command::Sim(args) => sim::sim(&args).await,
        Command::Demo { out, api, pages } => sim::demo(&out, ApiArg::version(api), pages).await,
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
        Command::Mcp(args) => Some(&args.global),
        Command::Sim(_) | Command::Demo { .. } => None,
    }
}

/// The connection options of the command, if it talks to the API, to change.
fn global_of_mut(command: &mut Command) -> Option<&mut Global> {
    match command {
        Command::Status { global, .. }
        | Command::Wait { global, .. }
        | Command::Download { global, .. } => Some(global),
        Command::Run(args) => Some(&mut args.batch.global),
        Command::Extract(args) => Some(&mut args.batch.global),
        Command::Mcp(args) => Some(&mut args.global),
        Command::Sim(_) | Command::Demo { .. } => None,
    }
}

fn main() -> ExitCode {
    let command = match Cli::parse_command(std::env::args_os()) {
        Ok(command) => command,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { Exit::Usage as u8 } else { 0 });
        }
    };
    if let Some(global) = global_of(&command) {
        report::init_log(global.verbose, global.log_format == LogFormat::Json);
    }
    report::set_api(match &command {
        Command::Extract(_) => sarvam_doc_core::config::ApiVersion::DocAi,
        Command::Demo { api, .. } => ApiArg::version(*api),
        other => global_of(other).map_or(
            sarvam_doc_core::config::ApiVersion::Legacy,
            Global::api_version,
        ),
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
    let result = runtime.block_on(dispatch(command));
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

    const JOB: &str = "3fa85f64-5717-4562-b3fc-2c963f66afa6";

    /// Every connection option, with a value unlike its default.
    const LEADING: [&str; 9] = [
        "--api",
        "doc-ai",
        "--base-url",
        "http://127.0.0.1:9",
        "--api-key-file",
        "key.txt",
        "--tls-roots=os",
        "-v",
        "--log-format=json",
    ];

    /// Each command that talks to the API, as the words after its name.
    fn commands() -> [Vec<&'static str>; 6] {
        [
            vec!["status", JOB],
            vec!["wait", JOB],
            vec!["download", JOB],
            vec!["run", "a.pdf"],
            vec!["extract", "a.pdf", "--config-id", "c"],
            vec!["mcp"],
        ]
    }

    fn parse(words: &[&str]) -> Result<Command, clap::Error> {
        Cli::parse_command(std::iter::once("sarvam-doc").chain(words.iter().copied()))
    }

    fn assert_every_option_taken(global: &Global, line: &[&str]) {
        assert_eq!(global.api, Some(ApiArg::DocAi), "{line:?}");
        assert_eq!(global.base_url, "http://127.0.0.1:9", "{line:?}");
        assert_eq!(
            global.api_key_file.as_deref(),
            Some(std::path::Path::new("key.txt")),
            "{line:?}"
        );
        assert!(matches!(global.tls_roots, TlsRoots::Os), "{line:?}");
        assert!(global.verbose, "{line:?}");
        assert_eq!(global.log_format, LogFormat::Json, "{line:?}");
    }

    #[test]
    fn every_connection_option_is_in_the_lines_these_tests_parse() {
        for arg in Global::augment_args(clap::Command::new("connection")).get_arguments() {
            let long = format!("--{}", arg.get_long().unwrap_or_default());
            assert!(
                LEADING
                    .iter()
                    .any(|w| w.split('=').next() == Some(long.as_str())
                        || arg.get_short().is_some_and(|c| *w == format!("-{c}"))),
                "{long} is not tested before the command"
            );
        }
    }

    #[test]
    fn every_command_that_talks_to_the_api_takes_the_connection_options_before_or_after_it() {
        for words in commands() {
            let (name, rest) = words.split_at(1);
            let before: Vec<&str> = LEADING.iter().chain(&words).copied().collect();
            let after: Vec<&str> = name.iter().chain(&LEADING).chain(rest).copied().collect();
            for line in [before, after] {
                let command = parse(&line).unwrap_or_else(|e| panic!("{line:?}: {e}"));
                let global = global_of(&command).unwrap_or_else(|| panic!("{line:?}"));
                assert_every_option_taken(global, &line);
            }
        }
    }

    #[test]
    fn options_split_between_before_and_after_the_command_are_all_taken() {
        let command = parse(&[
            "--api",
            "doc-ai",
            "-v",
            "--tls-roots=os",
            "status",
            JOB,
            "--base-url",
            "http://127.0.0.1:9",
            "--api-key-file",
            "key.txt",
            "--log-format=json",
        ])
        .unwrap_or_else(|e| panic!("{e}"));
        assert_every_option_taken(global_of(&command).unwrap_or_else(|| panic!()), &[]);
    }

    #[test]
    fn an_option_given_both_before_and_after_the_command_is_a_usage_error() {
        for words in commands() {
            for (before, after) in [
                (["--api", "doc-ai"], ["--api", "legacy"]),
                (
                    ["-v", "--log-format=json"],
                    ["--verbose", "--api-key-file=k"],
                ),
            ] {
                let line: Vec<&str> = before.iter().chain(&words).chain(&after).copied().collect();
                let e = parse(&line)
                    .err()
                    .unwrap_or_else(|| panic!("{line:?} parsed"));
                assert!(e.use_stderr(), "{line:?}");
                assert!(
                    e.to_string().contains("both before and after"),
                    "{line:?}: {e}"
                );
            }
        }
    }

    #[test]
    fn a_connection_option_before_sim_or_demo_is_a_usage_error_naming_it() {
        for (line, flag) in [
            (vec!["--api", "doc-ai", "demo"], "--api"),
            (
                vec!["--base-url", "http://127.0.0.1:9", "sim"],
                "--base-url",
            ),
            (vec!["-v", "sim", "--listen", "127.0.0.1:0"], "-v/--verbose"),
            (
                vec!["--log-format", "json", "demo", "--api", "doc-ai"],
                "--log-format",
            ),
        ] {
            let e = parse(&line)
                .err()
                .unwrap_or_else(|| panic!("{line:?} parsed"));
            assert!(e.use_stderr(), "{line:?}");
            let text = e.to_string();
            assert!(
                text.contains("takes no connection options") && text.contains(flag),
                "{line:?}: {text}"
            );
        }
        assert!(parse(&["demo", "--api", "doc-ai"]).is_ok());
    }

    #[test]
    fn the_command_lines_defaults_are_the_cores() {
        use sarvam_doc_core::output::UnpackLimits;
        use sarvam_doc_core::{
            Policy,
            model::{Language, OutputFormat},
        };
        use std::time::Duration;

        let policy = Policy::default();
        let unpack = UnpackLimits::default();
        let assert_limits_are_the_cores = |limits: &args::LimitArgs, what: &str| {
            assert_eq!(
                Some(Duration::from_secs(limits.timeout)),
                policy.deadline,
                "{what}"
            );
            assert_eq!(limits.max_download, policy.max_download, "{what}");
            assert_eq!(
                Duration::from_secs(limits.max_retry_after),
                policy.max_retry_after,
                "{what}"
            );
            assert_eq!(
                Some(Duration::from_secs(limits.stall_limit)),
                policy.stall_limit,
                "{what}"
            );
            assert_eq!(limits.max_entries, unpack.max_entries, "{what}");
            assert_eq!(limits.max_unpacked, unpack.max_total_bytes, "{what}");
            assert_eq!(limits.max_ratio, unpack.max_ratio, "{what}");
            assert_eq!(limits.rate, None, "{what}");
            // And so, through the CLI's own mapping, nothing is changed.
            assert_eq!(limits.policy(&policy), policy, "{what}");
            assert_eq!(limits.unpack(), unpack, "{what}");
        };
        for words in commands() {
            let command = parse(&words).unwrap_or_else(|e| panic!("{words:?}: {e}"));
            let batch = match &command {
                Command::Wait { limits, .. } | Command::Download { limits, .. } => {
                    assert_limits_are_the_cores(limits, words[0]);
                    continue;
                }
                Command::Run(args) => {
                    assert_eq!(args.language, Language::default().as_str());
                    assert_eq!(args.format, OutputFormat::default().as_str());
                    &args.batch
                }
                Command::Extract(args) => &args.batch,
                Command::Mcp(args) => {
                    assert_limits_are_the_cores(&args.limits, words[0]);
                    assert_eq!(args.page_limit, sarvam_doc_core::split::DEFAULT_PAGE_LIMIT);
                    continue;
                }
                Command::Status { .. } => continue,
                Command::Sim(_) | Command::Demo { .. } => panic!("{words:?}"),
            };
            assert_limits_are_the_cores(&batch.limits, words[0]);
            assert_eq!(
                batch.page_limit,
                sarvam_doc_core::split::DEFAULT_PAGE_LIMIT,
                "{words:?}"
            );
        }
        let defaults = args::LimitArgs::defaults().unwrap_or_else(|e| panic!("{e}"));
        assert_limits_are_the_cores(&defaults, "LimitArgs::defaults");
    }
}
