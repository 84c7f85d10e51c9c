//! One node of the test cluster: a `RawNode` over [`RaftStorage`], peers
//! and clients over loopback TCP, and a replicated key-value state machine
//! kept in the same database.
//!
//! What the node prints on stdout, a line each, is what the chaos test
//! reads: `recovered …` after the open, `hs TERM VOTE COMMIT` after every
//! synced hard-state change (and once at start), `listening` once it
//! serves, and `refused …` (exit code 3) if recovery refused to open.

use std::collections::HashMap;
use std::io::Write;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use raft::prelude::{ConfState, Entry, EntryType, HardState, Message, Snapshot};
use raft::{Config, RawNode, StateRole, Storage};
use strata::{Db, Options, RecoveryMode, WriteBatch, WriteOptions};
use strata_powercut::{NoSyncFs, SkippedSyncs};

use super::wire::{self, Dumped, Frame, NodeState, Outcome};
use crate::storage::{OpenError, RaftStorage};

/// Application keys: the key-value pairs clients write.
const DATA: u8 = 0x10;
/// The last applied index.
const APPLIED: [u8; 1] = [0x11];
/// `INDEX_RECORD` + big-endian index → the id of the write applied there
/// (8 bytes; 0 for an entry without a write): two state machines agree on
/// these only if they applied the same entries at the same indexes.
const INDEX_RECORD: u8 = 0x12;

/// How often the node ticks.
const TICK: Duration = Duration::from_millis(50);

/// Exit code of a node whose recovery refused to open.
pub const EXIT_REFUSED: i32 = 3;

/// A node's settings, from its command line.
#[derive(Clone, Debug)]
pub struct NodeConfig {
    /// This node's id (1, 2 or 3).
    pub id: u64,
    /// Its database directory.
    pub directory: PathBuf,
    /// Every member's id and address, this node's included.
    pub peers: Vec<(u64, SocketAddr)>,
    /// The recovery mode to open the database with.
    pub mode: RecoveryMode,
    /// Negative control: open the database on a file system whose syncs
    /// do nothing, so that acknowledged state is not durable; the chaos
    /// test must then fail.
    pub no_sync_control: bool,
}

impl NodeConfig {
    /// Parses `--id N --dir D --peers 1=ADDR,2=ADDR,3=ADDR --mode M`.
    pub fn parse(arguments: &[String]) -> Result<NodeConfig, String> {
        let mut id = None;
        let mut directory = None;
        let mut peers = Vec::new();
        let mut mode = RecoveryMode::PointInTimeRecovery;
        let mut no_sync_control = false;
        let mut arguments = arguments.iter();
        while let Some(flag) = arguments.next() {
            if flag == "--no-sync-control" {
                no_sync_control = true;
                continue;
            }
            let value = arguments
                .next()
                .ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--id" => id = Some(value.parse().map_err(|_| format!("bad --id {value}"))?),
                "--dir" => directory = Some(PathBuf::from(value)),
                "--mode" => mode = value.parse().map_err(|error| format!("{error}"))?,
                "--peers" => {
                    for peer in value.split(',') {
                        let (peer_id, address) = peer
                            .split_once('=')
                            .ok_or_else(|| format!("bad peer {peer}: ID=ADDRESS"))?;
                        peers.push((
                            peer_id
                                .parse()
                                .map_err(|_| format!("bad peer id {peer_id}"))?,
                            address
                                .parse()
                                .map_err(|_| format!("bad peer address {address}"))?,
                        ));
                    }
                }
                other => return Err(format!("unknown option {other}")),
            }
        }
        Ok(NodeConfig {
            id: id.ok_or("--id is required")?,
            directory: directory.ok_or("--dir is required")?,
            peers,
            mode,
            no_sync_control,
        })
    }

    /// The arguments [`NodeConfig::parse`] reads back.
    pub fn to_arguments(&self) -> Vec<String> {
        let peers: Vec<String> = self
            .peers
            .iter()
            .map(|(id, address)| format!("{id}={address}"))
            .collect();
        let mut arguments = vec![
            "--id".into(),
            self.id.to_string(),
            "--dir".into(),
            self.directory.display().to_string(),
            "--peers".into(),
            peers.join(","),
            "--mode".into(),
            self.mode.to_string(),
        ];
        if self.no_sync_control {
            arguments.push("--no-sync-control".into());
        }
        arguments
    }
}

enum Event {
    Raft(Box<Message>),
    Propose {
        id: u64,
        key: Vec<u8>,
        value: Vec<u8>,
        reply: Arc<Mutex<TcpStream>>,
    },
    Dump {
        from: Vec<u8>,
        limit: u32,
        reply: Arc<Mutex<TcpStream>>,
    },
    Status(Arc<Mutex<TcpStream>>),
    Freeze(bool, Arc<Mutex<TcpStream>>),
}

/// Runs a node until it is killed. Returns the process exit code for a
/// failure before it serves (3 for a refusal, 4 otherwise).
pub fn run(config: &NodeConfig) -> i32 {
    let options = Options::default().with_recovery_mode(config.mode);
    let opened = if config.no_sync_control {
        let fs = Arc::new(NoSyncFs(SkippedSyncs::All));
        Db::open_with_fs(fs, &config.directory, options)
            .map_err(OpenError::Database)
            .and_then(|db| RaftStorage::from_db(db).map_err(OpenError::Raft))
    } else {
        RaftStorage::open(&config.directory, options)
    };
    let storage = match opened {
        Ok(storage) => storage,
        Err(OpenError::Database(error @ strata::Error::Refused { .. })) => {
            println!("refused {}: {error}", config.mode);
            return EXIT_REFUSED;
        }
        Err(error) => {
            println!("failed to open {}: {error}", config.directory.display());
            return 4;
        }
    };
    match serve(config, storage) {
        Ok(()) => 0,
        Err(error) => {
            println!("failed: {error}");
            4
        }
    }
}

type Failure = Box<dyn std::error::Error + Send + Sync>;

fn serve(config: &NodeConfig, storage: RaftStorage) -> Result<(), Failure> {
    let report = storage.recovery_report();
    println!(
        "recovered mode={} batches={} dropped_regions={} dropped_bytes={}",
        report.mode,
        report.batches_applied,
        report.dropped.len(),
        report
            .dropped
            .iter()
            .map(|region| region.length)
            .sum::<u64>()
    );
    let voters: Vec<u64> = config.peers.iter().map(|(id, _)| *id).collect();
    let initial = storage.initial_state()?;
    if !initial.initialized() && storage.last_index()? == 0 {
        storage.initialize_with_conf_state(ConfState::from((voters, vec![])))?;
    }
    let hard_state = storage.hard_state();
    print_hard_state(&hard_state);
    let stored_applied = stored_applied(storage.db())?;
    // Applying is not synced: what a power cut takes is applied again from
    // the log (puts are idempotent). Never claim more than was committed.
    let applied = stored_applied.min(hard_state.commit);

    let raft_config = Config {
        id: config.id,
        election_tick: 10,
        heartbeat_tick: 2,
        applied,
        max_size_per_msg: 1 << 20,
        max_inflight_msgs: 256,
        check_quorum: true,
        pre_vote: true,
        ..Config::default()
    };
    raft_config.validate()?;
    let logger = slog::Logger::root(slog::Discard, slog::o!());
    let mut node = RawNode::new(&raft_config, storage, &logger)?;

    let address = config
        .peers
        .iter()
        .find(|(id, _)| *id == config.id)
        .map(|(_, address)| *address)
        .ok_or("this node's id is not among the peers")?;
    let listener = TcpListener::bind(address)?;
    let (events, inbox) = mpsc::channel();
    thread::spawn(move || accept(listener, events));
    let outboxes: HashMap<u64, Sender<Message>> = config
        .peers
        .iter()
        .filter(|(id, _)| *id != config.id)
        .map(|(id, address)| {
            let (sender, receiver) = mpsc::channel();
            let address = *address;
            thread::spawn(move || send_to_peer(address, receiver));
            (*id, sender)
        })
        .collect();
    println!("listening {address}");

    drive(&mut node, &inbox, &outboxes)
}

fn print_hard_state(hard_state: &HardState) {
    println!(
        "hs {} {} {}",
        hard_state.term, hard_state.vote, hard_state.commit
    );
}

fn accept(listener: TcpListener, events: Sender<Event>) {
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let events = events.clone();
        thread::spawn(move || read_connection(stream, events));
    }
}

fn read_connection(stream: TcpStream, events: Sender<Event>) {
    let _ = stream.set_nodelay(true);
    let Ok(writer) = stream.try_clone() else {
        return;
    };
    let writer = Arc::new(Mutex::new(writer));
    let mut reader = std::io::BufReader::new(stream);
    while let Ok(Some(frame)) = wire::read_frame(&mut reader) {
        let event = match frame {
            Frame::Raft(message) => Event::Raft(message),
            Frame::Propose { id, key, value } => Event::Propose {
                id,
                key,
                value,
                reply: Arc::clone(&writer),
            },
            Frame::Dump { from, limit } => Event::Dump {
                from,
                limit,
                reply: Arc::clone(&writer),
            },
            Frame::Status => Event::Status(Arc::clone(&writer)),
            Frame::Freeze(frozen) => Event::Freeze(frozen, Arc::clone(&writer)),
            Frame::Reply { .. } | Frame::Dumped(_) | Frame::State(_) => return,
        };
        if events.send(event).is_err() {
            return;
        }
    }
}

/// Sends each message to one peer, connecting when needed; a message that
/// cannot be sent is dropped (Raft sends again).
fn send_to_peer(address: SocketAddr, messages: Receiver<Message>) {
    let mut connection: Option<TcpStream> = None;
    let mut last_attempt: Option<Instant> = None;
    for message in messages {
        if connection.is_none() {
            if last_attempt.is_some_and(|at| at.elapsed() < Duration::from_millis(100)) {
                continue;
            }
            last_attempt = Some(Instant::now());
            connection = TcpStream::connect_timeout(&address, Duration::from_millis(200)).ok();
            if let Some(stream) = &connection {
                let _ = stream.set_nodelay(true);
            }
        }
        if let Some(stream) = &mut connection
            && wire::write_frame(stream, &Frame::Raft(Box::new(message))).is_err()
        {
            connection = None;
        }
    }
}

fn reply(stream: &Arc<Mutex<TcpStream>>, frame: &Frame) {
    let mut stream = stream
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let _ = wire::write_frame(&mut *stream, frame);
    let _ = stream.flush();
}

fn drive(
    node: &mut RawNode<RaftStorage>,
    inbox: &Receiver<Event>,
    outboxes: &HashMap<u64, Sender<Message>>,
) -> Result<(), Failure> {
    let mut pending: HashMap<u64, Arc<Mutex<TcpStream>>> = HashMap::new();
    let mut frozen = false;
    let mut next_tick = Instant::now() + TICK;
    loop {
        let timeout = next_tick.saturating_duration_since(Instant::now());
        match inbox.recv_timeout(timeout) {
            Ok(event) => handle(node, event, &mut pending, &mut frozen)?,
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => return Err("the listener stopped".into()),
        }
        // Take whatever else arrived, so that one Ready covers many events.
        while let Ok(event) = inbox.try_recv() {
            handle(node, event, &mut pending, &mut frozen)?;
        }
        if Instant::now() >= next_tick {
            if !frozen {
                node.tick();
            }
            next_tick = Instant::now() + TICK;
        }
        on_ready(node, outboxes, &mut pending)?;
    }
}

fn handle(
    node: &mut RawNode<RaftStorage>,
    event: Event,
    pending: &mut HashMap<u64, Arc<Mutex<TcpStream>>>,
    frozen: &mut bool,
) -> Result<(), Failure> {
    match event {
        Event::Raft(message) => {
            // A message from a stale term or for a removed peer is not an
            // error of this node. A frozen node drops every message, as a
            // network partition would.
            if !*frozen {
                let _ = node.step(*message);
            }
        }
        Event::Propose {
            id,
            key,
            value,
            reply: stream,
        } => {
            if *frozen || node.raft.state != StateRole::Leader {
                let hint = if *frozen { 0 } else { node.raft.leader_id };
                reply(
                    &stream,
                    &Frame::Reply {
                        id,
                        outcome: Outcome::NotLeader(hint),
                    },
                );
            } else if node
                .propose(
                    id.to_be_bytes().to_vec(),
                    wire::encode_write(id, &key, &value),
                )
                .is_ok()
            {
                pending.insert(id, stream);
            } else {
                reply(
                    &stream,
                    &Frame::Reply {
                        id,
                        outcome: Outcome::NotLeader(0),
                    },
                );
            }
        }
        Event::Dump {
            from,
            limit,
            reply: stream,
        } => {
            let db = node.store().db();
            let applied = stored_applied(db)?;
            let mut pairs = Vec::new();
            let from = if from.is_empty() { vec![DATA] } else { from };
            for item in db.range(from.as_slice()..) {
                if pairs.len() >= limit as usize {
                    break;
                }
                let (key, value) = item?;
                if key.first() != Some(&APPLIED[0]) {
                    pairs.push((key, value));
                }
            }
            reply(&stream, &Frame::Dumped(Dumped { applied, pairs }));
        }
        Event::Status(stream) => reply(&stream, &Frame::State(node_state(node, *frozen)?)),
        Event::Freeze(freeze, stream) => {
            *frozen = freeze;
            reply(&stream, &Frame::State(node_state(node, *frozen)?));
        }
    }
    Ok(())
}

/// The applied index the state machine records.
fn stored_applied(db: &strata::Db) -> Result<u64, Failure> {
    Ok(match db.get(APPLIED)? {
        Some(bytes) => u64::from_be_bytes(
            bytes
                .as_slice()
                .try_into()
                .map_err(|_| "the applied index is not 8 bytes")?,
        ),
        None => 0,
    })
}

fn node_state(node: &RawNode<RaftStorage>, frozen: bool) -> Result<NodeState, Failure> {
    Ok(NodeState {
        applied: stored_applied(node.store().db())?,
        commit: node.raft.raft_log.committed,
        frozen,
    })
}

fn send(outboxes: &HashMap<u64, Sender<Message>>, messages: Vec<Message>) {
    for message in messages {
        if let Some(outbox) = outboxes.get(&message.to) {
            let _ = outbox.send(message);
        }
    }
}

fn on_ready(
    node: &mut RawNode<RaftStorage>,
    outboxes: &HashMap<u64, Sender<Message>>,
    pending: &mut HashMap<u64, Arc<Mutex<TcpStream>>>,
) -> Result<(), Failure> {
    if !node.has_ready() {
        return Ok(());
    }
    let mut ready = node.ready();
    send(outboxes, ready.take_messages());
    if *ready.snapshot() != Snapshot::default() {
        node.store().apply_snapshot(ready.snapshot().clone())?;
    }
    apply(node, ready.take_committed_entries(), pending)?;
    let hard_state = ready.hs().cloned();
    node.store()
        .append_with_hard_state(ready.entries(), hard_state.as_ref())?;
    if let Some(hard_state) = &hard_state {
        print_hard_state(hard_state);
    }
    send(outboxes, ready.take_persisted_messages());
    let mut light = node.advance(ready);
    if let Some(commit) = light.commit_index() {
        node.store().set_commit(commit)?;
        print_hard_state(&node.store().hard_state());
    }
    send(outboxes, light.take_messages());
    apply(node, light.take_committed_entries(), pending)?;
    node.advance_apply();
    Ok(())
}

/// Applies committed entries to the state machine in one (unsynced) batch
/// and answers the clients whose writes they carry.
fn apply(
    node: &mut RawNode<RaftStorage>,
    entries: Vec<Entry>,
    pending: &mut HashMap<u64, Arc<Mutex<TcpStream>>>,
) -> Result<(), Failure> {
    let Some(last) = entries.last().map(|entry| entry.index) else {
        return Ok(());
    };
    let mut batch = WriteBatch::new();
    let mut answered = Vec::new();
    for entry in &entries {
        let mut record = [0u8; 9];
        record[0] = INDEX_RECORD;
        record[1..].copy_from_slice(&entry.index.to_be_bytes());
        let mut id = 0;
        if entry.get_entry_type() == EntryType::EntryNormal && !entry.data.is_empty() {
            let (write_id, key, value) = wire::decode_write(&entry.data)?;
            id = write_id;
            let mut data_key = vec![DATA];
            data_key.extend_from_slice(&key);
            batch.put(data_key, value);
            answered.push(write_id);
        }
        batch.put(record, id.to_be_bytes());
    }
    batch.put(APPLIED, last.to_be_bytes());
    node.store().db().write(batch, &WriteOptions::default())?;
    for id in answered {
        if let Some(stream) = pending.remove(&id) {
            reply(
                &stream,
                &Frame::Reply {
                    id,
                    outcome: Outcome::Committed,
                },
            );
        }
    }
    Ok(())
}
