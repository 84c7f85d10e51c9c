//! The chaos test: three node processes, clients proposing writes, and a
//! loop that kills nodes mid-write (and cuts the power under one of them
//! when FUSE is available), restarting each under a chosen recovery mode.
//!
//! Checks, each a failure of the run when broken:
//! - under PointInTimeRecovery every restart opens, and so does every
//!   restart under TolerateCorruptedTailRecords, except after a run under
//!   PointInTimeRecovery, which prefills its log with zeros for its synced
//!   writes (`Options::wal_prefill_bytes`): a kill in the middle of a write
//!   over the zeros leaves its first bytes followed by zeros, which
//!   TolerateCorruptedTailRecords refuses as a corruption. Such a refusal
//!   must be explained by the dry run (one region dropped, from the torn
//!   write to the end of the newest log, ending in the zeros); the node is
//!   then restarted under PointInTimeRecovery;
//! - under AbsoluteConsistency a node refuses exactly when the dry run
//!   (`Db::inspect_recovery` under PointInTimeRecovery) says something
//!   would be dropped, and its refusal names the log file and offset the
//!   dry run names; it is then restarted under PointInTimeRecovery;
//! - no node's term goes backwards, nor its vote within a term, across
//!   restarts (from the hard states each node prints once synced);
//! - at the end every acknowledged write is present with its value on
//!   every node, and the state machines (every write and which log index
//!   carried it) are identical, so no committed entry was overwritten.

use std::collections::{BTreeMap, HashMap};
use std::io::{BufRead, BufReader};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use strata::{Db, Options, RecoveryMode};
use strata_powercut::{CutOptions, PowerCutFs};

use super::node::{EXIT_REFUSED, NodeConfig};
use super::wire::{self, Dumped, Frame, NodeState, Outcome};

/// Number of nodes.
const NODES: u64 = 3;
/// How long a restarted node has to print `listening` (or to refuse).
const START_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client waits for the answer to one proposal.
const PROPOSAL_TIMEOUT: Duration = Duration::from_secs(3);
/// How long the end of the run waits for the nodes to converge.
const CONVERGE_TIMEOUT: Duration = Duration::from_secs(120);

/// What to run.
#[derive(Clone, Debug)]
pub struct ChaosOptions {
    /// Stop after this many node kills (0: no kills, run for `seconds`
    /// to measure the healthy cluster's throughput).
    pub kills: u64,
    /// Stop after this many seconds even if kills remain.
    pub seconds: u64,
    /// Seed of every random choice.
    pub seed: u64,
    /// Working directory (kept); a temporary one, removed on success, if
    /// `None`.
    pub directory: Option<PathBuf>,
    /// The program that runs a node, and the arguments before the node's
    /// own (`NodeConfig::to_arguments` is appended).
    pub node_program: (PathBuf, Vec<String>),
    /// Client threads proposing writes.
    pub clients: usize,
    /// Run node 3 on a FUSE file system and cut its power after each of
    /// its kills (ignored, with a note, where FUSE is unavailable).
    pub power_cut: bool,
    /// Longest pause between two kills, in milliseconds.
    pub max_kill_interval_ms: u64,
    /// Negative control: node 3's syncs do nothing (see
    /// `NodeConfig::no_sync_control`); with power cuts the run must fail.
    pub no_sync_control: bool,
}

/// What a run did.
#[derive(Clone, Debug, Default)]
pub struct ChaosSummary {
    /// Nodes killed with SIGKILL.
    pub kills: u64,
    /// Of those, kills followed by a power cut.
    pub power_cuts: u64,
    /// Restarts that opened, by the mode they opened with.
    pub restarts: BTreeMap<String, u64>,
    /// Refusals under AbsoluteConsistency (each followed by a restart
    /// under PointInTimeRecovery), with the refusal's text.
    pub absolute_refusals: Vec<String>,
    /// Refusals under TolerateCorruptedTailRecords of a write torn over a
    /// prefilled log's zeros (each followed by a restart under
    /// PointInTimeRecovery), with the refusal's text.
    pub tolerate_refusals: Vec<String>,
    /// Writes acknowledged as committed.
    pub acknowledged: u64,
    /// Acknowledged writes missing at the end (always 0 in a passing run).
    pub lost: u64,
    /// Log entries applied by every node at the end.
    pub applied: u64,
    /// Seconds the run took.
    pub seconds: f64,
    /// Seconds the clients were writing.
    pub writing_seconds: f64,
    /// Whether node 3 ran on the power-cut file system.
    pub power_cut_enabled: bool,
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

struct Random(u64);

impl Random {
    fn next(&mut self) -> u64 {
        // xorshift64*
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound.max(1)
    }
}

/// What the chaos loop learned from a node's output.
#[derive(Default)]
struct Observed {
    /// The last synced (term, vote) each node printed, across restarts.
    hard_states: HashMap<u64, (u64, u64)>,
    /// Broken term/vote rules, as sentences.
    violations: Vec<String>,
}

struct RunningNode {
    child: Child,
    reader: Option<thread::JoinHandle<Vec<String>>>,
}

impl Drop for RunningNode {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Cluster {
    configs: Vec<NodeConfig>,
    program: (PathBuf, Vec<String>),
    nodes: Vec<Option<RunningNode>>,
    observed: Arc<Mutex<Observed>>,
}

fn free_addresses(count: u64) -> std::io::Result<Vec<SocketAddr>> {
    let listeners: Vec<TcpListener> = (0..count)
        .map(|_| TcpListener::bind("127.0.0.1:0"))
        .collect::<std::io::Result<_>>()?;
    listeners.iter().map(TcpListener::local_addr).collect()
}

impl Cluster {
    /// Starts node `id` (1-based) under `mode`: `Ok(Ok(()))` once it
    /// serves, `Ok(Err(line))` if it refused (its `refused …` line).
    fn start(&mut self, id: u64, mode: RecoveryMode) -> Result<Result<(), String>, Failure> {
        let index = (id - 1) as usize;
        self.configs[index].mode = mode;
        let mut command = Command::new(&self.program.0);
        command
            .args(&self.program.1)
            .args(self.configs[index].to_arguments())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = command
            .spawn()
            .map_err(|error| format!("starting node {id}: {error}"))?;
        let stdout = child.stdout.take().ok_or("no stdout from the node")?;
        let (ready_sender, ready_receiver) = std::sync::mpsc::channel();
        let observed = Arc::clone(&self.observed);
        let reader = thread::spawn(move || {
            let mut tail = Vec::new();
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if let Some(rest) = line.strip_prefix("hs ") {
                    check_hard_state(&observed, id, rest);
                } else if line.starts_with("listening") || line.starts_with("refused") {
                    let _ = ready_sender.send(line.clone());
                }
                if !line.starts_with("hs ") {
                    tail.push(line);
                }
            }
            tail
        });
        let mut running = RunningNode {
            child,
            reader: Some(reader),
        };
        match ready_receiver.recv_timeout(START_TIMEOUT) {
            Ok(line) if line.starts_with("listening") => {
                self.nodes[index] = Some(running);
                Ok(Ok(()))
            }
            Ok(line) => {
                let status = running
                    .child
                    .wait()
                    .map_err(|error| format!("waiting for node {id} to exit: {error}"))?;
                if status.code() != Some(EXIT_REFUSED) {
                    return Err(
                        format!("node {id} printed {line:?} but exited with {status}").into(),
                    );
                }
                Ok(Err(line))
            }
            Err(_) => {
                let _ = running.child.kill();
                let _ = running.child.wait();
                let tail = running
                    .reader
                    .take()
                    .and_then(|reader| reader.join().ok())
                    .unwrap_or_default();
                Err(format!(
                    "node {id} did not start under {mode} within {} s; it printed: {}",
                    START_TIMEOUT.as_secs(),
                    tail.join(" | ")
                )
                .into())
            }
        }
    }

    fn kill(&mut self, id: u64) -> Result<(), Failure> {
        if let Some(mut node) = self.nodes[(id - 1) as usize].take() {
            node.child.kill()?;
            node.child.wait()?;
            if let Some(reader) = node.reader.take() {
                let _ = reader.join();
            }
        }
        Ok(())
    }
}

fn check_hard_state(observed: &Mutex<Observed>, id: u64, text: &str) {
    let numbers: Vec<u64> = text
        .split_whitespace()
        .filter_map(|part| part.parse().ok())
        .collect();
    let [term, vote, _commit] = numbers[..] else {
        return;
    };
    let mut observed = observed
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if let Some(&(last_term, last_vote)) = observed.hard_states.get(&id) {
        if term < last_term {
            observed.violations.push(format!(
                "node {id}: term went back from {last_term} to {term}"
            ));
        } else if term == last_term && last_vote != 0 && vote != last_vote {
            observed.violations.push(format!(
                "node {id}: vote in term {term} changed from {last_vote} to {vote}"
            ));
        }
    }
    observed.hard_states.insert(id, (term, vote));
}

/// The clients' shared record.
#[derive(Default)]
struct Ledger {
    /// Acknowledged writes: id → (key, value).
    acknowledged: Mutex<Vec<u64>>,
    next_id: AtomicU64,
}

fn key_of(id: u64) -> Vec<u8> {
    format!("key-{id:012}").into_bytes()
}

fn value_of(id: u64) -> Vec<u8> {
    format!("value-{id}").into_bytes()
}

fn client(addresses: Vec<SocketAddr>, ledger: Arc<Ledger>, stop: Arc<AtomicBool>) {
    let mut target = 0usize;
    let mut connection: Option<(usize, BufReader<TcpStream>)> = None;
    while !stop.load(Ordering::Relaxed) {
        if connection.as_ref().is_none_or(|(node, _)| *node != target) {
            connection = TcpStream::connect_timeout(&addresses[target], Duration::from_millis(300))
                .ok()
                .and_then(|stream| {
                    stream.set_read_timeout(Some(PROPOSAL_TIMEOUT)).ok()?;
                    stream.set_nodelay(true).ok()?;
                    Some((target, BufReader::new(stream)))
                });
            if connection.is_none() {
                target = (target + 1) % addresses.len();
                thread::sleep(Duration::from_millis(50));
                continue;
            }
        }
        let Some((_, stream)) = connection.as_mut() else {
            continue;
        };
        let id = ledger.next_id.fetch_add(1, Ordering::Relaxed) + 1;
        let sent = wire::write_frame(
            stream.get_mut(),
            &Frame::Propose {
                id,
                key: key_of(id),
                value: value_of(id),
            },
        );
        let answer = sent.and_then(|()| wire::read_frame(stream));
        match answer {
            Ok(Some(Frame::Reply {
                id: answered,
                outcome: Outcome::Committed,
            })) if answered == id => {
                ledger
                    .acknowledged
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner)
                    .push(id);
            }
            Ok(Some(Frame::Reply {
                outcome: Outcome::NotLeader(hint),
                ..
            })) => {
                target = if (1..=addresses.len() as u64).contains(&hint) {
                    (hint - 1) as usize
                } else {
                    (target + 1) % addresses.len()
                };
                if hint == 0 {
                    thread::sleep(Duration::from_millis(50));
                }
            }
            _ => {
                // No answer: the write may or may not commit; it is not
                // acknowledged, so nothing is claimed about it.
                connection = None;
                target = (target + 1) % addresses.len();
            }
        }
    }
}

/// Pairs per page of a dump (a frame stays far below its 64 MiB limit).
const DUMP_PAGE: u32 = 100_000;

fn connect(address: SocketAddr, read_timeout: Duration) -> Result<BufReader<TcpStream>, Failure> {
    let stream = TcpStream::connect_timeout(&address, Duration::from_secs(1))?;
    stream.set_read_timeout(Some(read_timeout))?;
    Ok(BufReader::new(stream))
}

/// Asks a node where it stands, or freezes or thaws it.
fn node_state(address: SocketAddr, request: &Frame) -> Result<NodeState, Failure> {
    let mut stream = connect(address, Duration::from_secs(10))?;
    wire::write_frame(stream.get_mut(), request)?;
    match wire::read_frame(&mut stream)? {
        Some(Frame::State(state)) => Ok(state),
        other => Err(format!("unexpected answer to {request:?}: {other:?}").into()),
    }
}

/// A (frozen) node's whole state machine, page by page.
fn dump(address: SocketAddr) -> Result<Dumped, Failure> {
    let mut stream = connect(address, Duration::from_secs(120))?;
    let mut whole = Dumped::default();
    let mut from = Vec::new();
    loop {
        wire::write_frame(
            stream.get_mut(),
            &Frame::Dump {
                from: from.clone(),
                limit: DUMP_PAGE,
            },
        )?;
        let page = match wire::read_frame(&mut stream)? {
            Some(Frame::Dumped(page)) => page,
            other => return Err(format!("unexpected answer to a dump: {other:?}").into()),
        };
        if !from.is_empty() && page.applied != whole.applied {
            return Err(format!(
                "node at {address} applied {} then {} during its dump, though frozen",
                whole.applied, page.applied
            )
            .into());
        }
        whole.applied = page.applied;
        let full = page.pairs.len() >= DUMP_PAGE as usize;
        if let Some((last, _)) = page.pairs.last() {
            from = last.clone();
            from.push(0);
        }
        whole.pairs.extend(page.pairs);
        if !full {
            return Ok(whole);
        }
    }
}

/// Runs the chaos test, calling `progress` with a line now and then.
pub fn run(
    options: &ChaosOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ChaosSummary, Failure> {
    let temporary = match &options.directory {
        Some(_) => None,
        None => {
            Some(std::env::temp_dir().join(format!("strata-raft-chaos-{}", std::process::id())))
        }
    };
    let work = options
        .directory
        .clone()
        .or_else(|| temporary.clone())
        .ok_or("no working directory")?;
    std::fs::create_dir_all(&work)?;
    let result = run_in(options, &work, progress);
    if result.is_ok()
        && let Some(temporary) = temporary
    {
        let _ = std::fs::remove_dir_all(temporary);
    }
    result.map_err(|error| format!("{error} (files kept in {})", work.display()).into())
}

fn run_in(
    options: &ChaosOptions,
    work: &Path,
    progress: &mut dyn FnMut(&str),
) -> Result<ChaosSummary, Failure> {
    let started = Instant::now();
    let mut summary = ChaosSummary::default();
    let mut random = Random(options.seed.max(1));

    // Node 3 on the power-cut file system, if it can be mounted here.
    let mut powercut = None;
    if options.power_cut {
        match strata_powercut::unavailable_reason() {
            Some(reason) => progress(&format!("no power cuts (FUSE unavailable: {reason})")),
            None => {
                let backing = work.join("node3-backing");
                let mountpoint = work.join("node3-mount");
                std::fs::create_dir_all(&backing)?;
                std::fs::create_dir_all(&mountpoint)?;
                powercut = Some(PowerCutFs::mount(&backing, &mountpoint)?);
                summary.power_cut_enabled = true;
            }
        }
    }
    let addresses = free_addresses(NODES)?;
    let peers: Vec<(u64, SocketAddr)> = (1..=NODES).zip(addresses.iter().copied()).collect();
    let configs: Vec<NodeConfig> = (1..=NODES)
        .map(|id| NodeConfig {
            id,
            directory: match (&powercut, id) {
                (Some(fs), NODES) => fs.mountpoint().join("db"),
                _ => work.join(format!("node{id}")),
            },
            peers: peers.clone(),
            mode: RecoveryMode::PointInTimeRecovery,
            no_sync_control: options.no_sync_control && id == NODES,
        })
        .collect();
    if let Some(fs) = &powercut {
        // Create node 3's directory durably, as an operator would: the
        // power cuts are about the database's own writes.
        let directory = fs.mountpoint().join("db");
        if !directory.exists() {
            std::fs::create_dir(&directory)?;
            std::fs::File::open(fs.mountpoint())?.sync_all()?;
        }
    }
    let mut cluster = Cluster {
        configs,
        program: options.node_program.clone(),
        nodes: (0..NODES).map(|_| None).collect(),
        observed: Arc::new(Mutex::new(Observed::default())),
    };
    for id in 1..=NODES {
        if let Err(line) = cluster.start(id, RecoveryMode::PointInTimeRecovery)? {
            return Err(format!("node {id} refused its first start: {line}").into());
        }
    }

    let ledger = Arc::new(Ledger::default());
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..options.clients.max(1))
        .map(|_| {
            let (addresses, ledger, stop) =
                (addresses.clone(), Arc::clone(&ledger), Arc::clone(&stop));
            thread::spawn(move || client(addresses, ledger, stop))
        })
        .collect();

    let deadline = Instant::now() + Duration::from_secs(options.seconds);
    let writing = Instant::now();
    let mut last_progress = Instant::now();
    let outcome = (|| -> Result<(), Failure> {
        if options.kills == 0 {
            // No chaos: a throughput run of the healthy cluster.
            thread::sleep(deadline.saturating_duration_since(Instant::now()));
        }
        while summary.kills < options.kills && Instant::now() < deadline {
            thread::sleep(Duration::from_millis(
                50 + random.below(options.max_kill_interval_ms.max(51) - 50),
            ));
            let id = 1 + random.below(NODES);
            cluster
                .kill(id)
                .map_err(|error| format!("killing node {id}: {error}"))?;
            summary.kills += 1;
            if id == NODES
                && let Some(fs) = &mut powercut
            {
                fs.cut(&CutOptions::random(random.next()))
                    .map_err(|error| format!("cutting the power under node {id}: {error}"))?;
                summary.power_cuts += 1;
            }
            thread::sleep(Duration::from_millis(random.below(300)));
            restart(&mut cluster, id, &mut random, &mut summary)?;
            let violations = cluster
                .observed
                .lock()
                .unwrap_or_else(std::sync::PoisonError::into_inner)
                .violations
                .clone();
            if !violations.is_empty() {
                return Err(violations.join("; ").into());
            }
            if last_progress.elapsed() >= Duration::from_secs(5) {
                last_progress = Instant::now();
                progress(&format!(
                    "{:>5.0} s: {} kills ({} power cuts), {} refusals under absolute-consistency, {} writes acknowledged",
                    started.elapsed().as_secs_f64(),
                    summary.kills,
                    summary.power_cuts,
                    summary.absolute_refusals.len(),
                    ledger
                        .acknowledged
                        .lock()
                        .unwrap_or_else(std::sync::PoisonError::into_inner)
                        .len()
                ));
            }
        }
        Ok(())
    })();
    stop.store(true, Ordering::Relaxed);
    for client in clients {
        let _ = client.join();
    }
    outcome?;

    let acknowledged = ledger
        .acknowledged
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .clone();
    summary.acknowledged = acknowledged.len() as u64;
    summary.writing_seconds = writing.elapsed().as_secs_f64();
    let dumps = converge(&addresses)?;
    summary.applied = dumps[0].applied;
    let first: HashMap<&[u8], &[u8]> = dumps[0]
        .pairs
        .iter()
        .map(|(key, value)| (key.as_slice(), value.as_slice()))
        .collect();
    for id in &acknowledged {
        let mut key = vec![0x10];
        key.extend_from_slice(&key_of(*id));
        if first.get(key.as_slice()).copied() != Some(value_of(*id).as_slice()) {
            summary.lost += 1;
        }
    }
    for (index, other) in dumps.iter().enumerate().skip(1) {
        if other.pairs != dumps[0].pairs {
            return Err(format!(
                "the state machines of node 1 and node {} differ ({} and {} pairs)",
                index + 1,
                dumps[0].pairs.len(),
                other.pairs.len()
            )
            .into());
        }
    }
    if summary.lost > 0 {
        return Err(format!(
            "{} of {} acknowledged writes are missing",
            summary.lost, summary.acknowledged
        )
        .into());
    }
    for id in 1..=NODES {
        cluster.kill(id)?;
    }
    drop(cluster);
    if let Some(fs) = powercut {
        fs.unmount()?;
    }
    summary.seconds = started.elapsed().as_secs_f64();
    Ok(summary)
}

/// Restarts node `id` under a randomly chosen mode, checking the contract
/// of that mode against the dry run.
fn restart(
    cluster: &mut Cluster,
    id: u64,
    random: &mut Random,
    summary: &mut ChaosSummary,
) -> Result<(), Failure> {
    const MODES: [RecoveryMode; 3] = [
        RecoveryMode::AbsoluteConsistency,
        RecoveryMode::TolerateCorruptedTailRecords,
        RecoveryMode::PointInTimeRecovery,
    ];
    let mode = MODES[random.below(MODES.len() as u64) as usize];
    let directory = cluster.configs[(id - 1) as usize].directory.clone();
    let previous = cluster.configs[(id - 1) as usize].mode;
    let dry_run = Db::inspect_recovery(
        &directory,
        &Options::default().with_recovery_mode(RecoveryMode::PointInTimeRecovery),
    )
    .map_err(|error| format!("node {id}: the dry run failed: {error}"))?;
    let started = cluster.start(id, mode)?;
    match (mode, started) {
        (_, Ok(())) => {
            if mode == RecoveryMode::AbsoluteConsistency && dry_run.dropped_anything() {
                return Err(format!(
                    "node {id} opened under absolute-consistency although the dry run would drop {:?}",
                    dry_run.dropped
                )
                .into());
            }
            *summary.restarts.entry(mode.to_string()).or_default() += 1;
            Ok(())
        }
        (RecoveryMode::AbsoluteConsistency, Err(line)) => {
            let Some(region) = dry_run.dropped.first() else {
                return Err(format!(
                    "node {id} refused under absolute-consistency though the dry run drops nothing: {line}"
                )
                .into());
            };
            let file = refusal_names(id, &line, region)?;
            summary.absolute_refusals.push(format!(
                "node {id}: {line}; the dry run under point-in-time-recovery drops {} bytes at {file}:{} and keeps sequences up to {}",
                region.length, region.offset, dry_run.last_sequence
            ));
            start_under_point_in_time(cluster, id, summary)
        }
        (RecoveryMode::TolerateCorruptedTailRecords, Err(line))
            if Options::default()
                .with_recovery_mode(previous)
                .wal_prefill_active() =>
        {
            let explained = torn_over_zeros(&dry_run)
                .map_err(|why| format!("node {id} refused under {mode}: {line}; {why}"))?;
            refusal_names(id, &line, &dry_run.dropped[0])?;
            summary.tolerate_refusals.push(format!(
                "node {id}: {line}; the dry run under point-in-time-recovery drops {explained}"
            ));
            start_under_point_in_time(cluster, id, summary)
        }
        (_, Err(line)) => Err(format!("node {id} refused under {mode}: {line}").into()),
    }
}

/// The name of `region`'s file, once node `id`'s refusal `line` is seen
/// to name it and the region's offset.
fn refusal_names(id: u64, line: &str, region: &strata::DroppedRegion) -> Result<String, Failure> {
    let file = region
        .file
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    if !line.contains(&file) || !line.contains(&region.offset.to_string()) {
        return Err(format!(
            "node {id}'s refusal does not name {file} at offset {}: {line}",
            region.offset
        )
        .into());
    }
    Ok(file)
}

/// Starts node `id` under PointInTimeRecovery after a refusal, which must
/// not refuse.
fn start_under_point_in_time(
    cluster: &mut Cluster,
    id: u64,
    summary: &mut ChaosSummary,
) -> Result<(), Failure> {
    match cluster.start(id, RecoveryMode::PointInTimeRecovery)? {
        Ok(()) => {
            *summary
                .restarts
                .entry(RecoveryMode::PointInTimeRecovery.to_string())
                .or_default() += 1;
            Ok(())
        }
        Err(line) => Err(format!("node {id} refused under point-in-time-recovery: {line}").into()),
    }
}

/// Whether `dry_run` (under PointInTimeRecovery) shows a write torn over
/// prefilled zeros: exactly one region dropped, in the newest log, running
/// to its end, whose last 64 KiB at least are zeros (the prefill keeps a
/// megabyte of them ahead of every synced write). Describes the region, or
/// says why it is not one.
fn torn_over_zeros(dry_run: &strata::RecoveryReport) -> Result<String, String> {
    let [region] = dry_run.dropped.as_slice() else {
        return Err(format!(
            "the dry run drops {} regions, not the one a torn write leaves",
            dry_run.dropped.len()
        ));
    };
    let newest = dry_run.logs.last().map(|log| log.file.clone());
    if newest.as_ref() != Some(&region.file) {
        return Err(format!(
            "the dropped region is in {}, not in the newest log",
            region.file.display()
        ));
    }
    let bytes = std::fs::read(&region.file)
        .map_err(|error| format!("reading {}: {error}", region.file.display()))?;
    let end = region.offset.saturating_add(region.length);
    let zeros = bytes.iter().rev().take_while(|&&byte| byte == 0).count();
    if end != bytes.len() as u64 || zeros < 64 << 10 || region.truncation {
        return Err(format!(
            "the region {}..{end} of {} ({} bytes, {zeros} zeros at its end, truncation {}) is \
             no write torn over prefilled zeros",
            region.offset,
            region.file.display(),
            bytes.len(),
            region.truncation
        ));
    }
    Ok(format!(
        "{} bytes at {}:{}",
        region.length,
        region.file.display(),
        region.offset
    ))
}

/// Waits until the three nodes have applied everything they committed,
/// all at the same index, freezes them there (so that no election moves
/// one of them while another is read) and returns their state machines.
fn converge(addresses: &[SocketAddr]) -> Result<Vec<Dumped>, Failure> {
    let deadline = Instant::now() + CONVERGE_TIMEOUT;
    let settled = |states: &[NodeState]| {
        states
            .iter()
            .all(|state| state.applied == states[0].applied && state.applied == state.commit)
    };
    loop {
        let states: Result<Vec<NodeState>, Failure> = addresses
            .iter()
            .map(|address| node_state(*address, &Frame::Status))
            .collect();
        if let Ok(states) = &states
            && settled(states)
        {
            let frozen: Result<Vec<NodeState>, Failure> = addresses
                .iter()
                .map(|address| node_state(*address, &Frame::Freeze(true)))
                .collect();
            if let Ok(frozen) = frozen
                && settled(&frozen)
            {
                return addresses.iter().map(|address| dump(*address)).collect();
            }
            for address in addresses {
                let _ = node_state(*address, &Frame::Freeze(false));
            }
        }
        if Instant::now() >= deadline {
            return Err(format!("the nodes did not converge: last states {states:?}").into());
        }
        thread::sleep(Duration::from_millis(200));
    }
}
