//! The words of `--help`: what each command does and writes, the
//! environment it reads, its exit codes, and an example.

/// The exit codes, as every command that talks to the API uses them.
pub(crate) const EXIT_CODES: &str = "\
Exit codes:
  0    completed (status: ended well, or still in progress)
  1    error: the API, the network, the answer, or the disk
  2    usage or bad input; nothing was sent
  3    partially completed (some pages failed)
  4    the job failed, or was rejected
  5    gave up waiting: --timeout, or a job that never started or stopped moving
  130  interrupted (Ctrl-C); every job is in the journal";

/// The environment the commands that talk to the API read.
pub(crate) const ENVIRONMENT: &str = "\
Environment:
  SARVAM_API_KEY     your key (or --api-key-file); it is never taken on the command line
  SARVAM_BASE_URL    the API's base URL (default https://api.sarvam.ai)
  SARVAM_API         legacy or doc-ai (as --api)
  SARVAM_TLS_ROOTS   webpki or os (as --tls-roots)
  HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, NO_PROXY
                     a proxy for https or http, and the hosts that bypass it (never loopback)";

pub(crate) const ABOUT: &str = "Run documents through Sarvam AI's Document Intelligence APIs: PDFs or ZIPs of page images \
     in 23 Indian languages into Markdown, HTML or JSON, or fields by a schema.";

pub(crate) const AFTER_HELP: &str = "\
Start here:
  sarvam-doc demo                                the whole job on a sample, on a built-in simulator
  sarvam-doc run scan.pdf --out out              a file through the legacy job API
  sarvam-doc run scans/ --api doc-ai --out out   a folder through /doc-ai/v1 (advised for new work)

Every command has its own --help. The API key is read from SARVAM_API_KEY or --api-key-file,
never from the command line. The connection options (--api, --base-url, --api-key-file,
--tls-roots, --verbose, --log-format) go before the command or after it, once.

Exit codes: 0 completed, 1 error, 2 usage or bad input, 3 partially completed, 4 failed,
5 gave up waiting, 130 interrupted.";

pub(crate) const RUN: &str = "\
Takes each file through its job: upload it, start the job, wait for it, and fetch its outputs.
Several files run at once (--concurrency). Each file's pages are unpacked into OUT/<name>/
with sarvam-doc-manifest.json beside them; a summary table goes to stdout (--json for one JSON
document), progress to stderr.

Every step is written to OUT/.sarvam-doc/journal.jsonl before the request it announces is
sent, so the same command run again after a Ctrl-C, a crash or a lost network goes on where it
stopped: done files are skipped, jobs in flight are resumed, nothing is paid for twice.
Before anything is sent, each file is checked (a PDF that parses, a flat ZIP of JPEG/PNG
pages) and its pages counted; one bad file stops the batch with nothing sent (exit 2).";

pub(crate) const RUN_AFTER: &str = "\
Examples:
  sarvam-doc run scan.pdf --language ta-IN --format md --out out
  sarvam-doc run scans/ --from more.txt --out out --rate 10/min
  sarvam-doc run scans/ --out out --dry-run           (the plan, nothing sent)";

pub(crate) const EXTRACT: &str = "\
Extracts fields from each file with /doc-ai/v1, by a JSON schema (checked before anything is
sent: the root \"type\": \"object\", every field a \"type\" and a \"description\", at most 4
levels deep) or by a configuration saved in the Doc Agents dashboard. Each file's results go to
OUT/<name>/results.json, beside its output file (result.json, .csv or .xlsx) and
sarvam-doc-manifest.json. Batches, the journal and resuming work as for `run`.";

pub(crate) const EXTRACT_AFTER: &str = "\
Examples:
  sarvam-doc extract invoice.pdf --schema invoice-schema.json --out fields
  sarvam-doc extract invoices/ --config-id cfg_abc123 --format csv --out fields";

pub(crate) const STATUS: &str = "\
Shows a job's status: its state, page counts and page errors (legacy jobs), once. It writes
nothing. With --json, the status with the API's own field names, plus \"outcome\".";

pub(crate) const STATUS_AFTER: &str = "\
Its exit code follows the job: 0 while it runs or once it completed, 3 partially completed,
4 failed or rejected; 1 if the status could not be read.

Examples:
  sarvam-doc status 3fa85f64-5717-4562-b3fc-2c963f66afa6
  sarvam-doc status 20261130_6eb74174-e2c3-490d-afe5-d2e7e9e2b6c7 --api doc-ai --json";

pub(crate) const WAIT: &str = "\
Follows a job until it ends, then shows how it ended. It downloads nothing unless --out is
given: then it fetches the outputs into OUT/<name>/, as `run` does, when the job ends.";

pub(crate) const WAIT_AFTER: &str = "\
Examples:
  sarvam-doc wait 3fa85f64-5717-4562-b3fc-2c963f66afa6 --timeout 7200
  sarvam-doc wait 3fa85f64-5717-4562-b3fc-2c963f66afa6 --out out";

pub(crate) const DOWNLOAD: &str = "\
Fetches the outputs of a job that has ended into OUT/<name>/ (named after its input when the
API says it, else after the job), with the same checks and limits as `run`. A job that has not
ended is refused, with the command that waits for it.";

pub(crate) const DOWNLOAD_AFTER: &str = "\
Examples:
  sarvam-doc download 3fa85f64-5717-4562-b3fc-2c963f66afa6 --out out
  sarvam-doc download 20261130_6eb74174-e2c3-490d-afe5-d2e7e9e2b6c7 --api doc-ai --out out";

pub(crate) const SIM: &str = "\
Runs the local simulator of both APIs in the foreground (until Ctrl-C): the API on one loopback
port, presigned storage on another, and the key it accepts. It prints how to point the CLI at
it. It reads no environment and needs no key or network; its fault options make it misbehave
on purpose.";

pub(crate) const SIM_AFTER: &str = "\
Examples:
  sarvam-doc sim --listen 127.0.0.1:4010 --storage-listen 127.0.0.1:4011
  sarvam-doc sim --fault status=503,429:2 --random-faults 20 --seed 7
  sarvam-doc sim --rate-limit 10 --time-scale 60

Exit codes: 0 stopped with Ctrl-C, 2 bad options or an address it cannot take.";

pub(crate) const MCP: &str = "\
Serves sarvam-doc to AI agents as Model Context Protocol tools on stdio (stdin and stdout are
the protocol's; the log goes to stderr): digitise (a PDF or ZIP of page images into text,
long documents cut and stitched), extract (fields by a schema, with --api doc-ai) and
job_status. Every call runs as `run` does, through the output folder's journal: the same file
asked for twice, in one session or after a restart, is one job; a cancelled call's job is
resumed by the next. An agent names paths, and only paths inside a --root are read; the key
comes from SARVAM_API_KEY or --api-key-file, never from a tool, and is in no result.";

pub(crate) const MCP_AFTER: &str = "\
Examples:
  sarvam-doc mcp --root ~/scans --out ~/sarvam-output
  sarvam-doc mcp --api doc-ai --root . --page-limit 10

A client's configuration (Claude Desktop, an IDE) runs it as a command:
  {\"mcpServers\": {\"sarvam-doc\": {\"command\": \"sarvam-doc\",
    \"args\": [\"mcp\", \"--root\", \"/home/me/scans\"], \"env\": {\"SARVAM_API_KEY\": \"…\"}}}}";

pub(crate) const DEMO: &str = "\
Runs a generated 3-page PDF through the whole job against a simulator started inside the
process, one 503 injected to show a retry, and prints where the outputs are. No key, no
network, no environment. It writes OUT/sarvam-demo.pdf and OUT/sarvam-demo/.";

pub(crate) const DEMO_AFTER: &str = "\
Examples:
  sarvam-doc demo
  sarvam-doc demo --api doc-ai --out doc-ai-demo

Exit codes: as `run`.";

/// A command's examples, then the environment and the exit codes.
pub(crate) fn after(examples: &str) -> String {
    format!("{examples}\n\n{ENVIRONMENT}\n\n{EXIT_CODES}")
}
