//! A three-node test cluster on [`RaftStorage`](crate::RaftStorage): the
//! node process ([`node`]), its wire format ([`wire`]) and the chaos test
//! that kills and power-cuts nodes mid-write ([`chaos`]).

pub mod chaos;
pub mod node;
pub mod wire;
