//! Loading a scenario file: parse (with ron's spans), validate, resolve profiles.

use super::error::{Diagnostic, ScenarioError};
use super::profiles;
use super::schema::{DeviceProfile, LinkProfile, Scenario};
use super::span::SpanIndex;
use std::path::{Component, Path, PathBuf};

/// The quickstart scenario embedded into the binary (`scenarios/quickstart.ron`).
pub const QUICKSTART_RON: &str = include_str!("../../scenarios/quickstart.ron");

/// File name under which the embedded quickstart reports errors.
pub const QUICKSTART_FILE: &str = "embedded:scenarios/quickstart.ron";

/// A validated scenario with everything needed to build its network and read its data.
#[derive(Debug, Clone)]
pub struct LoadedScenario {
    /// The parsed scenario.
    pub scenario: Scenario,
    /// Folder relative paths resolve against (the scenario file's folder).
    pub base_dir: PathBuf,
    /// File name as given by the user (used in error messages).
    pub file: String,
    /// The scenario's source text (for spans).
    pub source: String,
    /// True for the scenario embedded into the binary: data files come from the
    /// embedded copies.
    pub embedded: bool,
    /// Resolved device profiles (scenario overrides applied), one per
    /// `scenario.devices` entry, same order.
    pub device_profiles: Vec<DeviceProfile>,
    /// Resolved link profiles (overrides applied; `medium` is the link's override or the
    /// profile's default), one per `scenario.links` entry, same order.
    pub link_profiles: Vec<LinkProfile>,
}

impl Scenario {
    /// Time from a device failure to the failover of its partitions to their standbys,
    /// ms: `failures.failover`, or its default when the scenario has no failure model.
    pub fn failover_detection_ms(&self) -> f64 {
        self.failures
            .as_ref()
            .map(|f| f.failover)
            .unwrap_or_default()
            .detection_ms()
    }

    /// Reads, parses and validates the scenario file at `path`. Relative paths inside it
    /// resolve against its folder. Every problem found is reported (`Invalid` holds them
    /// all, each with file:line:col).
    pub fn load(path: impl AsRef<Path>) -> Result<LoadedScenario, ScenarioError> {
        let path = path.as_ref();
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ScenarioError::Io {
            file: file.clone(),
            message: e.to_string(),
        })?;
        let base = path.parent().map(Path::to_path_buf).unwrap_or_default();
        Scenario::from_text(&text, &file, &base)
    }

    /// Parses and validates scenario `text`; `file` names it in errors and `base_dir`
    /// is where its relative paths resolve.
    pub fn from_text(
        text: &str,
        file: &str,
        base_dir: &Path,
    ) -> Result<LoadedScenario, ScenarioError> {
        load_text(text, file, base_dir, false)
    }

    /// Parses RON text into a [`Scenario`] without semantic checks.
    pub fn parse(text: &str, file: &str) -> Result<Scenario, ScenarioError> {
        crate::scenario::ron_options()
            .from_str(text)
            .map_err(|e: ron::error::SpannedError| {
                ScenarioError::Parse(Diagnostic {
                    file: file.to_string(),
                    line: e.span.start.line.max(1),
                    col: e.span.start.col.max(1),
                    message: e.code.to_string(),
                })
            })
    }

    /// The quickstart scenario embedded into the binary; its datasets are embedded too,
    /// so it works from any folder.
    pub fn embedded_quickstart() -> LoadedScenario {
        load_text(
            QUICKSTART_RON,
            QUICKSTART_FILE,
            Path::new("scenarios"),
            true,
        )
        .expect("the embedded quickstart is valid (tested)")
    }

    /// Serialises the scenario to pretty RON.
    pub fn to_ron(&self) -> String {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .expect("a scenario always serialises")
    }
}

fn load_text(
    text: &str,
    file: &str,
    base_dir: &Path,
    embedded: bool,
) -> Result<LoadedScenario, ScenarioError> {
    let scenario = Scenario::parse(text, file)?;
    let mut loaded = LoadedScenario {
        scenario,
        base_dir: base_dir.to_path_buf(),
        file: file.to_string(),
        source: text.to_string(),
        embedded,
        device_profiles: Vec::new(),
        link_profiles: Vec::new(),
    };
    let (errors, devices, links) = super::validate::check(&loaded);
    if !errors.is_empty() {
        return Err(ScenarioError::Invalid(errors));
    }
    loaded.device_profiles = devices;
    loaded.link_profiles = links;
    Ok(loaded)
}

impl LoadedScenario {
    /// A path of the scenario resolved against its folder (absolute paths unchanged).
    pub fn resolve(&self, p: &Path) -> PathBuf {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            self.base_dir.join(p)
        }
    }

    /// Resolved path of the training file.
    pub fn train_path(&self) -> PathBuf {
        self.resolve(&self.scenario.dataset.train)
    }

    /// Resolved path of the test file, if any.
    pub fn test_path(&self) -> Option<PathBuf> {
        self.scenario
            .dataset
            .test
            .as_deref()
            .map(|p| self.resolve(p))
    }

    /// Reads the bytes of a data file given by its resolved path (see
    /// [`LoadedScenario::resolve`]); they may be gzip-compressed
    /// (`distrinas::train::decode_text` gives the text). For the embedded scenario the
    /// embedded copy is used, so it works from any folder.
    pub fn read_data(&self, path: &Path) -> Result<Vec<u8>, ScenarioError> {
        if self.embedded {
            if let Some(t) = profiles::embedded_data(path) {
                return Ok(t.to_vec());
            }
        }
        std::fs::read(path).map_err(|e| ScenarioError::Io {
            file: path.display().to_string(),
            message: e.to_string(),
        })
    }

    /// True when the data file at the resolved `path` can be read.
    pub fn data_exists(&self, path: &Path) -> bool {
        (self.embedded && profiles::embedded_data(path).is_some()) || path.is_file()
    }

    /// Span index of the source text (value path → line:column).
    pub fn spans(&self) -> SpanIndex {
        SpanIndex::build(&self.source)
    }

    /// A diagnostic at the value `path` (e.g. `devices[1].id`) of this scenario.
    pub fn diagnostic_at(&self, path: &str, message: impl Into<String>) -> Diagnostic {
        let (line, col) = self.spans().get(path);
        Diagnostic {
            file: self.file.clone(),
            line,
            col,
            message: message.into(),
        }
    }
}

/// Removes `.` and `a/..` components lexically (no file-system access).
pub fn normalize(p: &Path) -> PathBuf {
    let mut out: Vec<Component> = Vec::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => match out.last() {
                Some(Component::Normal(_)) => {
                    out.pop();
                }
                _ => out.push(c),
            },
            _ => out.push(c),
        }
    }
    out.iter().collect()
}
