//! The weights file format (`.dnw`), little-endian throughout:
//!
//! ```text
//! magic    8 bytes  "DNASWGT\0"
//! version  u32      1
//! layers   u32      number of layers L (equal to the architecture's)
//! L times:
//!   kind_len u32, kind UTF-8 bytes (the RON layer name, e.g. "Conv1d")
//!   tensors  u32    number of tensors (0 for layers without weights)
//!   each tensor: rank u32, dims u32 × rank, values f32 × product(dims)
//! ```
//!
//! Tensors per layer, in order: conv `[kh·kw·cin, cout]` weights (rows in
//! `(ky, kx, cin)` order) and `[cout]` bias; depthwise `[kh·kw, c]` and `[c]`; dense
//! `[nin, nout]` and `[nout]`; batch norm gamma, beta, running mean, running variance
//! (each `[c]`). Files are written atomically.

use super::model::Model;
use super::TrainError;
use crate::atomic::write_atomic;
use std::path::Path;

/// File signature.
pub const MAGIC: &[u8; 8] = b"DNASWGT\0";
/// Format version written by [`to_bytes`].
pub const VERSION: u32 = 1;

/// Serialises every layer's tensors.
pub fn to_bytes(model: &Model) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + 4 * (model.params.len() + model.state.len()));
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&VERSION.to_le_bytes());
    out.extend_from_slice(&(model.ops.len() as u32).to_le_bytes());
    let shapes = model.tensor_shapes();
    for (i, tensors) in model.tensors().iter().enumerate() {
        let kind = model.arch.layers[i].kind().as_bytes();
        out.extend_from_slice(&(kind.len() as u32).to_le_bytes());
        out.extend_from_slice(kind);
        out.extend_from_slice(&(tensors.len() as u32).to_le_bytes());
        for (t, shape) in tensors.iter().zip(&shapes[i]) {
            out.extend_from_slice(&(shape.len() as u32).to_le_bytes());
            for &d in shape {
                out.extend_from_slice(&(d as u32).to_le_bytes());
            }
            for v in t.iter() {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
    }
    out
}

struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
    name: &'a str,
}

impl Reader<'_> {
    fn err(&self, msg: impl Into<String>) -> TrainError {
        TrainError::Weights {
            path: self.name.to_string(),
            msg: format!("at byte {}: {}", self.pos, msg.into()),
        }
    }
    fn take(&mut self, n: usize) -> Result<&[u8], TrainError> {
        if self.bytes.len() - self.pos < n {
            return Err(self.err("unexpected end of file"));
        }
        let s = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }
    fn u32(&mut self) -> Result<u32, TrainError> {
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
}

/// Loads weights serialised by [`to_bytes`] into `model`, which must have the same
/// layer kinds and tensor shapes. `name` is used in error messages.
pub fn from_bytes(model: &mut Model, bytes: &[u8], name: &str) -> Result<(), TrainError> {
    let mut r = Reader {
        bytes,
        pos: 0,
        name,
    };
    if r.take(8)? != MAGIC {
        return Err(r.err("not a distrinas weights file (bad magic)"));
    }
    let v = r.u32()?;
    if v != VERSION {
        return Err(r.err(format!(
            "unsupported version {v} (this build reads {VERSION})"
        )));
    }
    let l = r.u32()? as usize;
    if l != model.ops.len() {
        return Err(r.err(format!(
            "file has {l} layers, the architecture has {}",
            model.ops.len()
        )));
    }
    let shapes = model.tensor_shapes();
    let mut all = Vec::with_capacity(l);
    for (i, expected) in shapes.iter().enumerate() {
        let kl = r.u32()? as usize;
        let kind = String::from_utf8_lossy(r.take(kl)?).into_owned();
        let want = model.arch.layers[i].kind();
        if kind != want {
            return Err(r.err(format!(
                "layer {i} is {kind} in the file but {want} in the architecture"
            )));
        }
        let nt = r.u32()? as usize;
        if nt != expected.len() {
            return Err(r.err(format!(
                "layer {i} ({kind}) has {nt} tensors, expected {}",
                expected.len()
            )));
        }
        let mut values = Vec::with_capacity(nt);
        for (k, shape) in expected.iter().enumerate() {
            let rank = r.u32()? as usize;
            let mut dims = Vec::with_capacity(rank.min(8));
            for _ in 0..rank {
                dims.push(r.u32()? as usize);
            }
            if &dims != shape {
                return Err(r.err(format!(
                    "layer {i} ({kind}) tensor {k} has shape {dims:?}, expected {shape:?}"
                )));
            }
            let n: usize = dims.iter().product();
            let raw = r.take(n * 4)?;
            values.push(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
                    .collect(),
            );
        }
        all.push(values);
    }
    if r.pos != bytes.len() {
        return Err(r.err("trailing bytes after the last layer"));
    }
    for (i, v) in all.iter().enumerate() {
        model.set_layer(i, v);
    }
    Ok(())
}

/// Writes `model`'s weights to `path` atomically.
pub fn save(model: &Model, path: &Path) -> Result<(), TrainError> {
    write_atomic(path, &to_bytes(model)).map_err(|source| TrainError::Io {
        path: path.display().to_string(),
        source,
    })
}

/// Reads weights from `path` into `model`.
pub fn load(model: &mut Model, path: &Path) -> Result<(), TrainError> {
    let bytes = std::fs::read(path).map_err(|source| TrainError::Io {
        path: path.display().to_string(),
        source,
    })?;
    from_bytes(model, &bytes, &path.display().to_string())
}

impl Model {
    /// Writes the weights to `path` (see [`crate::train::weights`] for the format).
    pub fn save_weights(&self, path: &Path) -> Result<(), TrainError> {
        save(self, path)
    }

    /// Reads weights written by [`Model::save_weights`] for the same architecture.
    pub fn load_weights(&mut self, path: &Path) -> Result<(), TrainError> {
        load(self, path)
    }
}
