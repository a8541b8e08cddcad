//! `sim` and `demo`: the simulator in the foreground, and the whole job on a
//! sample document against it.

use std::path::Path;
use std::time::Duration;

use sarvam_doc_core::{ApiKey, Config, config::ApiVersion};
use sarvam_doc_hyper::Client;
use sarvam_doc_sim::{
    Fault, FaultPlan, RandomFaults, Route, Scenario, SimConfig, Simulator, sample,
};

use crate::args::{BatchArgs, LimitArgs, OutputArgs, RunArgs, ScenarioArg, SimArgs};
use crate::{Exit, Failure};

pub(crate) async fn sim(args: &SimArgs) -> Result<Exit, Failure> {
    let mut config = SimConfig::default();
    config.api_addr = args.listen;
    config.storage_addr = args.storage_listen;
    config.api_key.clone_from(&args.key);
    config.queue_time = Duration::from_millis(args.queue_ms);
    config.page_time = Duration::from_millis(args.page_ms);
    config.max_pages = args.max_pages;
    config.credits = args.credits;
    config.doc_ai.max_pages = args.doc_ai_max_pages;
    config.rate_limit = args.rate_limit.map(sarvam_doc_sim::RateLimit::per_minute);
    config.time_scale = args.time_scale;
    config.scenario = args.scenario.map(|s| match s {
        ScenarioArg::Completed => Scenario::Completed,
        ScenarioArg::Partial => Scenario::PartiallyCompleted,
        ScenarioArg::Failed => Scenario::Failed,
        ScenarioArg::Rejected => Scenario::Rejected,
        ScenarioArg::Invalid => Scenario::Unreadable,
    });
    let mut plan = FaultPlan::default();
    for spec in &args.faults {
        let (route, faults) = spec.split_once('=').ok_or_else(|| {
            Failure::usage(format!(
                "--fault {spec:?} should be ROUTE=FAULT[,FAULT…], such as status=503,429:2"
            ))
        })?;
        let route: Route = route.parse().map_err(Failure::usage)?;
        let faults: Vec<Fault> = faults
            .split(',')
            .map(str::parse)
            .collect::<Result<_, _>>()
            .map_err(Failure::usage)?;
        plan = plan.script(route, faults);
    }
    if let Some(percent) = args.random_faults {
        let kinds = vec![
            Fault::RateLimited(sarvam_doc_sim::RetryAfter::Seconds(1)),
            Fault::HighLoad,
            Fault::Internal,
            Fault::DropBefore,
            Fault::DropAfter,
            Fault::Truncated,
            Fault::Delay(Duration::from_millis(500)),
        ];
        plan = plan.random(RandomFaults::new(percent, kinds, args.seed));
    }
    config.faults = plan;
    let sim = Simulator::start(config)
        .map_err(|e| Failure::usage(format!("cannot start the simulator: {e}")))?;
    out!("sarvam-doc simulator");
    out!("  API:     {}", sim.api_url());
    out!("  storage: {}", sim.storage_url());
    out!("  key:     {}", sim.api_key());
    out!("");
    out!(
        "Try: SARVAM_API_KEY={} sarvam-doc --base-url {} run FILE.pdf",
        sim.api_key(),
        sim.api_url()
    );
    out!(
        "     or: SARVAM_API_KEY={} sarvam-doc run --base-url {} --api doc-ai FILE.pdf",
        sim.api_key(),
        sim.api_url()
    );
    out!("Ctrl-C stops it.");
    let _ = tokio::signal::ctrl_c().await;
    err!(
        "stopped after {} and {}",
        crate::report::count(sim.requests().len(), "request"),
        crate::report::count(sim.jobs(), "job")
    );
    Ok(Exit::Completed)
}

pub(crate) async fn demo(out: &Path, version: ApiVersion, pages: u32) -> Result<Exit, Failure> {
    let sim = Simulator::start(SimConfig::default())
        .map_err(|e| Failure::error(format!("cannot start the simulator: {e}")))?;
    // One passing hiccup, to show the client riding it out.
    let status = match version {
        ApiVersion::DocAi => Route::AiStatus,
        _ => Route::Status,
    };
    sim.inject(status, [Fault::HighLoad]);
    let input = out.join("sarvam-demo.pdf");
    std::fs::create_dir_all(out)
        .and_then(|()| {
            std::fs::write(
                &input,
                sample::pdf(pages, "Sarvam Document Intelligence demo"),
            )
        })
        .map_err(|e| {
            Failure::usage(format!(
                "cannot write the sample document into {}: {e}",
                out.display()
            ))
        })?;
    err!(
        "Simulator at {} (no key, no network needed), speaking {}.",
        sim.api_url(),
        match version {
            ApiVersion::DocAi => "/doc-ai/v1",
            _ => "/doc-digitization/job/v1",
        }
    );
    let limit = sarvam_doc_core::split::DEFAULT_PAGE_LIMIT;
    err!(
        "Sample document: {}, {}{}. One 503 is injected to show a retry.\n",
        input.display(),
        crate::report::count(pages, "page"),
        if pages > limit {
            format!(
                ", over the {limit} a job takes: it is cut into {} and stitched back",
                crate::report::count(pages.div_ceil(limit), "job")
            )
        } else {
            String::new()
        }
    );
    let config =
        Config::builder(ApiKey::new(sim.api_key()).map_err(|e| Failure::error(e.to_string()))?)
            .base_url(sim.api_url())
            .api_version(version)
            .build()
            .map_err(|e| Failure::error(e.to_string()))?;
    let client: Client = Client::new(config);
    let args = RunArgs {
        language: sarvam_doc_core::model::Language::default().to_string(),
        format: sarvam_doc_core::model::OutputFormat::default().to_string(),
        content_type: None,
        batch: BatchArgs {
            files: vec![input],
            from: None,
            output: OutputArgs {
                out: out.to_owned(),
                overwrite: true,
            },
            global: crate::Global {
                api: None,
                base_url: sim.api_url(),
                api_key_file: None,
                tls_roots: crate::TlsRoots::Webpki,
                verbose: false,
                log_format: crate::LogFormat::Text,
            },
            concurrency: 4,
            limits: LimitArgs {
                timeout: 120,
                ..LimitArgs::defaults().map_err(|e| Failure::error(e.to_string()))?
            },
            dry_run: false,
            // The demo runs its sample afresh each time, journal or not.
            force: true,
            page_limit: sarvam_doc_core::split::DEFAULT_PAGE_LIMIT,
            strict_pages: false,
            max_pages: None,
            retry_unconfirmed: false,
            retry_failed: false,
            json: false,
        },
    };
    let job = crate::run::job(&args, version)?;
    let exit = crate::run::run(&client, &args.batch, job).await?;
    let pages = out.join("sarvam-demo");
    // Every output folder holds the merged document.
    let first = ["document.md", "page_001.md"]
        .into_iter()
        .find_map(|name| Some((name, std::fs::read_to_string(pages.join(name)).ok()?)));
    if let Some((name, text)) = first {
        out!("\nOutputs are in {}/ — {name} reads:\n", pages.display());
        for line in text.lines().take(12) {
            out!("    {line}");
        }
    }
    Ok(exit)
}
