//! The main demonstration: write a log of synced batches to a real file,
//! damage it the two ways the world damages logs, and replay each damaged
//! copy under all four recovery modes, printing what each mode did.
//!
//! 1. A torn tail: the process died in the middle of appending the last
//!    record (the file is cut inside it).
//! 2. A corruption: one byte in the middle of the log flipped (bad media or a
//!    bug), with intact records after it.
//!
//! Run with `cargo run --example recovery_modes`.

use std::fs::{self, File, OpenOptions};
use std::io::{Seek, SeekFrom, Write};
use std::path::Path;

use strata::wal::batch::{BatchBuilder, DecodedBatch, Operation};
use strata::wal::{Reader, ReaderOptions, RecoveryMode, Writer, WriterOptions, replay};

const BATCHES: u64 = 400;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let directory = std::env::temp_dir().join(format!("strata-demo-{}", std::process::id()));
    fs::create_dir_all(&directory)?;
    let original = directory.join("000001.log");
    let ends = write_log(&original)?;
    let length = fs::metadata(&original)?.len();
    println!(
        "wrote {BATCHES} synced batches ({length} bytes, {} KiB blocks) to {}",
        strata::wal::DEFAULT_BLOCK_SIZE / 1024,
        original.display()
    );

    // 1. A crash while appending: cut the file 5 bytes into the last record.
    let torn = directory.join("000002.log");
    fs::copy(&original, &torn)?;
    let last_start = ends[ends.len() - 2];
    OpenOptions::new()
        .write(true)
        .open(&torn)?
        .set_len(last_start + 5)?;
    show(
        &torn,
        "torn tail: the writer was killed while appending the last batch",
    )?;

    // 2. Bit rot: flip one byte in the middle of the log.
    let rotten = directory.join("000003.log");
    fs::copy(&original, &rotten)?;
    let middle = ends[ends.len() / 2] + 20;
    let mut file = OpenOptions::new().read(true).write(true).open(&rotten)?;
    let mut byte = [0u8; 1];
    file.seek(SeekFrom::Start(middle))?;
    std::io::Read::read_exact(&mut file, &mut byte)?;
    file.seek(SeekFrom::Start(middle))?;
    file.write_all(&[byte[0] ^ 0x10])?;
    file.sync_all()?;
    show(
        &rotten,
        &format!("corruption: one byte flipped at offset {middle}, intact batches after it"),
    )?;

    fs::remove_dir_all(&directory)?;
    Ok(())
}

/// Writes the log and returns the end offset of every record (with 0 first).
fn write_log(path: &Path) -> Result<Vec<u64>, Box<dyn std::error::Error>> {
    let mut writer = Writer::new(File::create(path)?, WriterOptions::default());
    let mut ends = vec![0];
    for sequence in 1..=BATCHES {
        let key = format!("user:{sequence:05}");
        let value = format!("balance={}", sequence * 10).repeat(1 + sequence as usize % 40);
        let batch = BatchBuilder::new()
            .put(key.as_bytes(), value.as_bytes())
            .finish(sequence);
        writer.add_record(&batch)?;
        writer.sync()?; // acknowledged only once durable
        ends.push(writer.file_offset());
    }
    Ok(ends)
}

fn show(path: &Path, what: &str) -> Result<(), Box<dyn std::error::Error>> {
    println!("\n== {what}");
    for mode in RecoveryMode::ALL {
        let reader = Reader::new(File::open(path)?, ReaderOptions::default());
        match replay(reader, mode, path) {
            Ok(replayed) => {
                let last_key = replayed.batches.last().map(|batch| {
                    let decoded = DecodedBatch::decode(&batch.payload).expect("replay checked it");
                    match decoded.entries[0].operation {
                        Operation::Put { key, .. } => String::from_utf8_lossy(key).into_owned(),
                        _ => String::from("?"),
                    }
                });
                println!(
                    "{:<32} opens: {} of {BATCHES} batches, last key {}",
                    mode.to_string(),
                    replayed.batches.len(),
                    last_key.unwrap_or_default()
                );
                for region in &replayed.report.dropped {
                    println!(
                        "{:<32}   dropped {} bytes at offset {} ({}, {})",
                        "",
                        region.length,
                        region.offset,
                        region.kind,
                        if region.is_truncation() {
                            "truncation"
                        } else {
                            "corruption"
                        }
                    );
                }
            }
            Err(error) => println!("{:<32} refuses: {error}", mode.to_string()),
        }
    }
    Ok(())
}
