//! The shipped device and link profiles (`models/devices/*.ron`, `models/links/*.ron`),
//! embedded into the binary, and the bundled datasets the embedded quickstart needs.

use super::error::{Diagnostic, ScenarioError};
use super::schema::{DeviceProfile, LinkProfile};

/// Shipped device profiles: (name, RON text).
pub const DEVICE_PROFILES: &[(&str, &str)] = &[
    ("esp32s3", include_str!("../../models/devices/esp32s3.ron")),
    (
        "nrf52832",
        include_str!("../../models/devices/nrf52832.ron"),
    ),
    (
        "nrf52840",
        include_str!("../../models/devices/nrf52840.ron"),
    ),
    ("rp2040", include_str!("../../models/devices/rp2040.ron")),
    ("rpi4", include_str!("../../models/devices/rpi4.ron")),
    (
        "stm32f746",
        include_str!("../../models/devices/stm32f746.ron"),
    ),
    (
        "stm32l432kc",
        include_str!("../../models/devices/stm32l432kc.ron"),
    ),
];

/// Shipped link profiles: (name, RON text).
pub const LINK_PROFILES: &[(&str, &str)] = &[
    ("ble-1m", include_str!("../../models/links/ble-1m.ron")),
    ("ble-2m", include_str!("../../models/links/ble-2m.ron")),
    ("ethernet", include_str!("../../models/links/ethernet.ron")),
    (
        "ieee802154",
        include_str!("../../models/links/ieee802154.ron"),
    ),
    ("lora-sf7", include_str!("../../models/links/lora-sf7.ron")),
    ("wifi", include_str!("../../models/links/wifi.ron")),
];

/// Aliases accepted for link profiles: (alias, profile).
pub const LINK_ALIASES: &[(&str, &str)] = &[("ble", "ble-1m"), ("802.15.4", "ieee802154")];

/// Datasets embedded for the embedded quickstart: (path relative to the repository
/// root, file bytes). `LoadedScenario::read_data` falls back to these.
pub const EMBEDDED_DATA: &[(&str, &[u8])] = &[
    (
        "data/MNIST1D/MNIST1D_TRAIN.ts",
        include_bytes!("../../data/MNIST1D/MNIST1D_TRAIN.ts"),
    ),
    (
        "data/MNIST1D/MNIST1D_TEST.ts",
        include_bytes!("../../data/MNIST1D/MNIST1D_TEST.ts"),
    ),
    (
        "data/BasicMotions/BasicMotions_TRAIN.ts",
        include_bytes!("../../data/BasicMotions/BasicMotions_TRAIN.ts"),
    ),
    (
        "data/BasicMotions/BasicMotions_TEST.ts",
        include_bytes!("../../data/BasicMotions/BasicMotions_TEST.ts"),
    ),
    (
        "data/digits/digits.csv",
        include_bytes!("../../data/digits/digits.csv"),
    ),
];

/// Names of the shipped device profiles, sorted.
pub fn device_profile_names() -> Vec<&'static str> {
    DEVICE_PROFILES.iter().map(|(n, _)| *n).collect()
}

/// Names of the shipped link profiles, sorted.
pub fn link_profile_names() -> Vec<&'static str> {
    LINK_PROFILES.iter().map(|(n, _)| *n).collect()
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, ScenarioError> {
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

/// Parses a device profile from RON text (`file` names it in errors).
pub fn parse_device_profile(file: &str, text: &str) -> Result<DeviceProfile, ScenarioError> {
    parse(file, text)
}

/// Parses a link profile from RON text (`file` names it in errors).
pub fn parse_link_profile(file: &str, text: &str) -> Result<LinkProfile, ScenarioError> {
    parse(file, text)
}

/// The shipped device profile called `name`, if any.
pub fn shipped_device_profile(name: &str) -> Option<DeviceProfile> {
    let (n, text) = DEVICE_PROFILES.iter().find(|(n, _)| *n == name)?;
    parse_device_profile(&format!("models/devices/{n}.ron"), text).ok()
}

/// The shipped link profile called `name` (or one of its aliases), if any.
pub fn shipped_link_profile(name: &str) -> Option<LinkProfile> {
    let name = LINK_ALIASES
        .iter()
        .find(|(a, _)| *a == name)
        .map(|(_, p)| *p)
        .unwrap_or(name);
    let (n, text) = LINK_PROFILES.iter().find(|(n, _)| *n == name)?;
    parse_link_profile(&format!("models/links/{n}.ron"), text).ok()
}

/// The embedded copy of a bundled data file, looked up by a path ending in
/// `data/<folder>/<file>` (after removing `.` and `..` components lexically).
pub fn embedded_data(path: &std::path::Path) -> Option<&'static [u8]> {
    let norm = super::load::normalize(path);
    let s = norm.to_string_lossy().replace('\\', "/");
    EMBEDDED_DATA
        .iter()
        .find(|(k, _)| s == *k || s.ends_with(&format!("/{k}")))
        .map(|(_, t)| *t)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_profile_parses_and_cites_sources() {
        for (n, _) in DEVICE_PROFILES {
            let p = shipped_device_profile(n).unwrap_or_else(|| panic!("device profile {n}"));
            assert!(
                p.flash_bytes > 0 && p.sram_bytes > 0 && p.mac_per_s > 0.0,
                "{n}"
            );
            assert!(p.sources.len() >= 5, "{n} needs a source line per number");
        }
        for (n, _) in LINK_PROFILES {
            let p = shipped_link_profile(n).unwrap_or_else(|| panic!("link profile {n}"));
            assert!(p.bandwidth_bps > 0.0 && p.mtu_bytes > p.header_bytes, "{n}");
            assert!(p.sources.len() >= 4, "{n} needs a source line per number");
        }
        assert_eq!(shipped_link_profile("ble"), shipped_link_profile("ble-1m"));
    }

    #[test]
    fn published_figures() {
        let nrf = shipped_device_profile("nrf52840").unwrap();
        assert_eq!((nrf.flash_bytes, nrf.sram_bytes), (1 << 20, 256 << 10));
        // The small end (issue 12): 512 KB / 64 KB and 256 KB / 64 KB; both M4 at
        // 0.25 MAC/cycle; currents x 3.0 V from the datasheets.
        let n32 = shipped_device_profile("nrf52832").unwrap();
        assert_eq!((n32.flash_bytes, n32.sram_bytes), (512 << 10, 64 << 10));
        assert_eq!(n32.mac_per_s, 0.25 * 64e6);
        assert!((n32.active_mw - 58e-3 * 64.0 * 3.0).abs() < 0.05);
        let l4 = shipped_device_profile("stm32l432kc").unwrap();
        assert_eq!((l4.flash_bytes, l4.sram_bytes), (256 << 10, 64 << 10));
        assert_eq!(l4.mac_per_s, 0.25 * 80e6);
        assert!((l4.active_mw - 84e-3 * 80.0 * 3.0).abs() < 0.1);
        // CMSIS-NN CIFAR-10: 12.3 M MACs in 99.1 ms on the F746.
        let f7 = shipped_device_profile("stm32f746").unwrap();
        assert!((f7.mac_per_s - 12.3e6 / 0.0991).abs() / f7.mac_per_s < 0.01);
        // LoRa SF7 125 kHz CR 4/5: 7 × 0.8 / (128 / 125e3).
        let lora = shipped_link_profile("lora-sf7").unwrap();
        assert!((lora.bandwidth_bps - 7.0 * 0.8 / (128.0 / 125e3)).abs() < 2.0);
    }

    #[test]
    fn embedded_data_lookup() {
        use std::path::Path;
        assert!(embedded_data(Path::new("scenarios/../data/digits/digits.csv")).is_some());
        assert!(embedded_data(Path::new("/x/data/BasicMotions/BasicMotions_TEST.ts")).is_some());
        assert!(embedded_data(Path::new("data/other.csv")).is_none());
    }
}
