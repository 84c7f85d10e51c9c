//! Frames between the cluster's processes: a 4-byte big-endian length, a
//! type byte, then the body. Raft messages travel as their protobuf bytes.

use std::io::{self, Read, Write};

use protobuf::Message as _;
use raft::prelude::Message;

/// The largest frame accepted; a longer length is a protocol error, not an
/// allocation.
const MAX_FRAME_BYTES: u32 = 64 << 20;

const RAFT: u8 = 1;
const PROPOSE: u8 = 2;
const REPLY: u8 = 3;
const DUMP: u8 = 4;
const DUMPED: u8 = 5;
const STATUS: u8 = 6;
const FREEZE: u8 = 7;
const STATE: u8 = 8;

/// What a proposal came to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Committed and applied by the leader that answered.
    Committed,
    /// The node is not the leader; the hint is the leader it knows (0 for
    /// none).
    NotLeader(u64),
}

/// One frame.
#[derive(Debug)]
pub enum Frame {
    /// A Raft message from a peer.
    Raft(Box<Message>),
    /// A client's write of `key` = `value`, named `id`.
    Propose {
        /// The client's name for the write.
        id: u64,
        /// Key.
        key: Vec<u8>,
        /// Value.
        value: Vec<u8>,
    },
    /// The answer to a proposal.
    Reply {
        /// The proposal.
        id: u64,
        /// What happened.
        outcome: Outcome,
    },
    /// A request for one page of the node's applied state: at most
    /// `limit` pairs whose keys are at least `from`.
    Dump {
        /// The first key of the page (inclusive).
        from: Vec<u8>,
        /// Most pairs in the page.
        limit: u32,
    },
    /// A page of the node's applied state.
    Dumped(Dumped),
    /// A request for the node's [`NodeState`].
    Status,
    /// Freezes (`true`) or thaws the node: a frozen node neither ticks nor
    /// takes Raft messages or proposals, so its state stays still while it
    /// is dumped. Answered with the node's [`NodeState`].
    Freeze(bool),
    /// The answer to [`Frame::Status`] and [`Frame::Freeze`].
    State(NodeState),
}

/// Where a node stands, cheap to ask.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NodeState {
    /// The last log index applied to the state machine.
    pub applied: u64,
    /// The node's commit index.
    pub commit: u64,
    /// Whether the node is frozen.
    pub frozen: bool,
}

/// A node's state machine as the client reads it at the end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Dumped {
    /// The last log index applied.
    pub applied: u64,
    /// Every application key and value, in key order (the key-value pairs
    /// and the record of which write each log index carried).
    pub pairs: Vec<(Vec<u8>, Vec<u8>)>,
}

fn protocol(detail: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, detail.into())
}

/// Writes `frame` as one `write_all`.
pub fn write_frame(stream: &mut impl Write, frame: &Frame) -> io::Result<()> {
    let mut body = Vec::new();
    match frame {
        Frame::Raft(message) => {
            body.push(RAFT);
            message
                .write_to_vec(&mut body)
                .map_err(|error| protocol(error.to_string()))?;
        }
        Frame::Propose { id, key, value } => {
            body.push(PROPOSE);
            body.extend_from_slice(&encode_write(*id, key, value));
        }
        Frame::Reply { id, outcome } => {
            body.push(REPLY);
            body.extend_from_slice(&id.to_be_bytes());
            let (code, hint) = match outcome {
                Outcome::Committed => (0u8, 0u64),
                Outcome::NotLeader(hint) => (1, *hint),
            };
            body.push(code);
            body.extend_from_slice(&hint.to_be_bytes());
        }
        Frame::Dump { from, limit } => {
            body.push(DUMP);
            body.extend_from_slice(&limit.to_be_bytes());
            put_bytes(&mut body, from);
        }
        Frame::Status => body.push(STATUS),
        Frame::Freeze(frozen) => {
            body.push(FREEZE);
            body.push(u8::from(*frozen));
        }
        Frame::State(state) => {
            body.push(STATE);
            body.extend_from_slice(&state.applied.to_be_bytes());
            body.extend_from_slice(&state.commit.to_be_bytes());
            body.push(u8::from(state.frozen));
        }
        Frame::Dumped(dumped) => {
            body.push(DUMPED);
            body.extend_from_slice(&dumped.applied.to_be_bytes());
            body.extend_from_slice(&(dumped.pairs.len() as u64).to_be_bytes());
            for (key, value) in &dumped.pairs {
                put_bytes(&mut body, key);
                put_bytes(&mut body, value);
            }
        }
    }
    let length = u32::try_from(body.len())
        .ok()
        .filter(|length| *length <= MAX_FRAME_BYTES)
        .ok_or_else(|| protocol("frame too long"))?;
    let mut framed = Vec::with_capacity(body.len() + 4);
    framed.extend_from_slice(&length.to_be_bytes());
    framed.extend_from_slice(&body);
    stream.write_all(&framed)
}

/// Reads one frame; `Ok(None)` at a clean end of stream.
pub fn read_frame(stream: &mut impl Read) -> io::Result<Option<Frame>> {
    let mut length = [0; 4];
    match stream.read_exact(&mut length) {
        Ok(()) => {}
        Err(error) if error.kind() == io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(error) => return Err(error),
    }
    let length = u32::from_be_bytes(length);
    if length == 0 || length > MAX_FRAME_BYTES {
        return Err(protocol(format!("frame length {length} out of range")));
    }
    let mut body = vec![0; length as usize];
    stream.read_exact(&mut body)?;
    let mut cursor = Cursor(&body[1..]);
    let frame = match body[0] {
        RAFT => Frame::Raft(Box::new(
            Message::parse_from_bytes(cursor.0).map_err(|error| protocol(error.to_string()))?,
        )),
        PROPOSE => {
            let (id, key, value) = decode_write(cursor.0)?;
            Frame::Propose { id, key, value }
        }
        REPLY => {
            let id = cursor.u64()?;
            let code = cursor.u8()?;
            let hint = cursor.u64()?;
            let outcome = match code {
                0 => Outcome::Committed,
                1 => Outcome::NotLeader(hint),
                other => return Err(protocol(format!("unknown outcome {other}"))),
            };
            Frame::Reply { id, outcome }
        }
        DUMP => {
            let limit = cursor.u32()?;
            let from = cursor.bytes()?.to_vec();
            Frame::Dump { from, limit }
        }
        STATUS => Frame::Status,
        FREEZE => Frame::Freeze(cursor.u8()? != 0),
        STATE => Frame::State(NodeState {
            applied: cursor.u64()?,
            commit: cursor.u64()?,
            frozen: cursor.u8()? != 0,
        }),
        DUMPED => {
            let applied = cursor.u64()?;
            let count = cursor.u64()?;
            let mut pairs = Vec::new();
            for _ in 0..count {
                let key = cursor.bytes()?.to_vec();
                let value = cursor.bytes()?.to_vec();
                pairs.push((key, value));
            }
            Frame::Dumped(Dumped { applied, pairs })
        }
        other => return Err(protocol(format!("unknown frame type {other}"))),
    };
    Ok(Some(frame))
}

/// A client write as a Raft entry's data: id, key, value.
pub fn encode_write(id: u64, key: &[u8], value: &[u8]) -> Vec<u8> {
    let mut data = Vec::with_capacity(16 + key.len() + value.len());
    data.extend_from_slice(&id.to_be_bytes());
    put_bytes(&mut data, key);
    put_bytes(&mut data, value);
    data
}

/// The inverse of [`encode_write`].
pub fn decode_write(data: &[u8]) -> io::Result<(u64, Vec<u8>, Vec<u8>)> {
    let mut cursor = Cursor(data);
    let id = cursor.u64()?;
    let key = cursor.bytes()?.to_vec();
    let value = cursor.bytes()?.to_vec();
    if !cursor.0.is_empty() {
        return Err(protocol("trailing bytes after a write"));
    }
    Ok((id, key, value))
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    out.extend_from_slice(&(bytes.len() as u32).to_be_bytes());
    out.extend_from_slice(bytes);
}

struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, count: usize) -> io::Result<&'a [u8]> {
        if self.0.len() < count {
            return Err(protocol("frame ends early"));
        }
        let (head, rest) = self.0.split_at(count);
        self.0 = rest;
        Ok(head)
    }

    fn u8(&mut self) -> io::Result<u8> {
        Ok(self.take(1)?[0])
    }

    fn u32(&mut self) -> io::Result<u32> {
        let bytes = self.take(4)?;
        let mut array = [0; 4];
        array.copy_from_slice(bytes);
        Ok(u32::from_be_bytes(array))
    }

    fn u64(&mut self) -> io::Result<u64> {
        let bytes = self.take(8)?;
        let mut array = [0; 8];
        array.copy_from_slice(bytes);
        Ok(u64::from_be_bytes(array))
    }

    fn bytes(&mut self) -> io::Result<&'a [u8]> {
        let length = self.take(4)?;
        let mut array = [0; 4];
        array.copy_from_slice(length);
        self.take(u32::from_be_bytes(array) as usize)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn frames_round_trip_and_garbage_is_an_error() {
        let mut buffer = Vec::new();
        write_frame(
            &mut buffer,
            &Frame::Propose {
                id: 7,
                key: b"k".to_vec(),
                value: b"v".to_vec(),
            },
        )
        .unwrap();
        write_frame(
            &mut buffer,
            &Frame::Reply {
                id: 7,
                outcome: Outcome::NotLeader(2),
            },
        )
        .unwrap();
        write_frame(
            &mut buffer,
            &Frame::Dump {
                from: b"a".to_vec(),
                limit: 9,
            },
        )
        .unwrap();
        let state = NodeState {
            applied: 5,
            commit: 6,
            frozen: true,
        };
        write_frame(&mut buffer, &Frame::State(state)).unwrap();
        write_frame(&mut buffer, &Frame::Freeze(true)).unwrap();
        let mut reader = buffer.as_slice();
        assert!(matches!(
            read_frame(&mut reader).unwrap(),
            Some(Frame::Propose { id: 7, .. })
        ));
        assert!(matches!(
            read_frame(&mut reader).unwrap(),
            Some(Frame::Reply {
                id: 7,
                outcome: Outcome::NotLeader(2)
            })
        ));
        assert!(matches!(
            read_frame(&mut reader).unwrap(),
            Some(Frame::Dump { from, limit: 9 }) if from == b"a"
        ));
        assert!(matches!(
            read_frame(&mut reader).unwrap(),
            Some(Frame::State(read)) if read == state
        ));
        assert!(matches!(
            read_frame(&mut reader).unwrap(),
            Some(Frame::Freeze(true))
        ));
        assert!(read_frame(&mut reader).unwrap().is_none());
        let garbage = [0u8, 0, 0, 3, PROPOSE, 1, 2];
        assert!(read_frame(&mut garbage.as_slice()).is_err());
        let huge = [0xffu8, 0xff, 0xff, 0xff];
        assert!(read_frame(&mut huge.as_slice()).is_err());
    }
}
