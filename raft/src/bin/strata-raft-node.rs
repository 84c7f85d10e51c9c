//! One node of the chaos test's cluster (started by it, not by hand):
//! `strata-raft-node --id N --dir D --peers 1=ADDR,2=ADDR,3=ADDR --mode M`.

use std::process::ExitCode;

use strata_raft::cluster::node::{self, NodeConfig};

fn main() -> ExitCode {
    let arguments: Vec<String> = std::env::args().skip(1).collect();
    match NodeConfig::parse(&arguments) {
        Ok(config) => ExitCode::from(u8::try_from(node::run(&config)).unwrap_or(4)),
        Err(error) => {
            eprintln!("strata-raft-node: {error}");
            ExitCode::from(2)
        }
    }
}
