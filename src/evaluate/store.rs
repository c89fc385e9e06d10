//! The weight store: trained weights of every evaluated network, keyed by genome, so a
//! child can inherit its parent's weights (piecemeal training).
//!
//! Determinism: a child only ever looks up a parent evaluated in an earlier generation,
//! so what it finds does not depend on the order in which threads finish. With a
//! folder, weights are also written to disk (one file per key), so a resumed run finds
//! the weights of the parents trained before the interruption.

use crate::arch::Arch;
use crate::train::{weights, Model};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Bytes of the SHA-256 trailer of an entry file.
const DIGEST: usize = 32;

/// Shared, thread-safe store of trained models. An entry is the network's RON text and
/// the trainer's weight-file bytes (on disk: 8-byte little-endian length of the RON,
/// the RON, the weights, then the SHA-256 of everything before it, so a damaged file
/// reads as absent).
#[derive(Debug, Default)]
pub struct WeightStore {
    dir: Option<PathBuf>,
    mem: Mutex<HashMap<u64, Arc<Vec<u8>>>>,
}

impl WeightStore {
    /// A store kept in memory only.
    pub fn in_memory() -> WeightStore {
        WeightStore::default()
    }

    /// A store that also keeps every entry in `dir/<key as 16 hex digits>.dnw`
    /// (written atomically) and reads entries missing from memory from there.
    pub fn on_disk(dir: &Path) -> WeightStore {
        WeightStore {
            dir: Some(dir.to_path_buf()),
            mem: Mutex::default(),
        }
    }

    /// The store's folder, if any.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    fn path(&self, key: u64) -> Option<PathBuf> {
        self.dir.as_ref().map(|d| d.join(format!("{key:016x}.dnw")))
    }

    /// The stored entry bytes of `key` (without the checksum), if any and intact.
    pub fn get_bytes(&self, key: u64) -> Option<Arc<Vec<u8>>> {
        if let Some(b) = self.lock().get(&key) {
            return Some(b.clone());
        }
        let mut bytes = std::fs::read(self.path(key)?).ok()?;
        let body = bytes.len().checked_sub(DIGEST)?;
        if Sha256::digest(&bytes[..body])[..] != bytes[body..] {
            return None;
        }
        bytes.truncate(body);
        let b = Arc::new(bytes);
        self.lock().insert(key, b.clone());
        Some(b)
    }

    /// The stored model of `key` (`None` when absent, damaged or unreadable).
    pub fn get(&self, key: u64) -> Option<Model> {
        let bytes = self.get_bytes(key)?;
        let n = u64::from_le_bytes(bytes.get(..8)?.try_into().ok()?) as usize;
        let text = std::str::from_utf8(bytes.get(8..8usize.checked_add(n)?)?).ok()?;
        let arch = Arch::from_ron(text).ok()?;
        let mut m = Model::new(&arch, 0).ok()?;
        weights::from_bytes(&mut m, bytes.get(8 + n..)?, "store").ok()?;
        Some(m)
    }

    /// Stores `model` (network and weights) under `key` (memory, and disk when set up).
    pub fn put(&self, key: u64, model: &Model) -> std::io::Result<()> {
        let text = model.arch().to_ron();
        let mut bytes = Vec::with_capacity(8 + text.len());
        bytes.extend_from_slice(&(text.len() as u64).to_le_bytes());
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend_from_slice(&weights::to_bytes(model));
        if let Some(p) = self.path(key) {
            let mut file = bytes.clone();
            file.extend_from_slice(&Sha256::digest(&bytes));
            crate::atomic::write_atomic(&p, &file)?;
        }
        self.lock().insert(key, Arc::new(bytes));
        Ok(())
    }

    /// Entries held in memory.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// `true` when no entry is held in memory.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Arc<Vec<u8>>>> {
        self.mem.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn arch() -> Arch {
        Arch::from_ron(
            "Arch(input: [10, 2], layers: [Conv1d(filters: 4, kernel: 3), ReLU, \
             GlobalAvgPool, Dense(units: 3)])",
        )
        .unwrap()
    }

    #[test]
    fn round_trips_in_memory_and_on_disk() {
        let dir = tempfile::tempdir().unwrap();
        let a = arch();
        let m = Model::new(&a, 5).unwrap();
        let s = WeightStore::on_disk(dir.path());
        assert!(s.get(1).is_none());
        s.put(1, &m).unwrap();
        assert_eq!(s.get(1).unwrap().params(), m.params());
        assert_eq!(s.get(1).unwrap().arch(), &a);
        // A fresh store over the same folder reads it back from disk.
        let t = WeightStore::on_disk(dir.path());
        assert!(t.is_empty());
        assert_eq!(t.get(1).unwrap().params(), m.params());
        assert_eq!(t.len(), 1);
        // a flipped weight byte or a truncated file reads as absent
        let file = dir.path().join(format!("{:016x}.dnw", 1u64));
        let mut bytes = std::fs::read(&file).unwrap();
        let mid = bytes.len() - 40;
        bytes[mid] ^= 1;
        std::fs::write(&file, &bytes).unwrap();
        assert!(WeightStore::on_disk(dir.path()).get(1).is_none());
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        assert!(WeightStore::on_disk(dir.path()).get(1).is_none());
        std::fs::write(&file, b"").unwrap();
        assert!(WeightStore::on_disk(dir.path()).get(1).is_none());
        let mem = WeightStore::in_memory();
        mem.put(2, &m).unwrap();
        assert_eq!(mem.get(2).unwrap().params(), m.params());
    }
}
