//! The one table of device and link fields.
//!
//! [`device_table!`](crate::device_table) and [`link_table!`](crate::link_table) list
//! every physical field once: name, type in a profile, type as a scenario override,
//! unit, accepted range, default and meaning. Everything else is generated from them:
//! the profile structs ([`DeviceProfile`](super::DeviceProfile),
//! [`LinkProfile`](super::LinkProfile)), the override fields of
//! [`DeviceSpec`](super::DeviceSpec) / [`LinkSpec`](super::LinkSpec), the resolved
//! network's `Device`/`Link`, the merge of overrides into a profile, the validation of
//! each value, `simulate --set`, and the field tables of `docs/scenarios.md` (checked by
//! a test). A new device field is one row here plus its line in the docs.

use super::limits;

/// What a field accepts, besides the upper bounds of [`limits::check`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Accepts {
    /// A finite number > 0.
    Positive,
    /// A finite number ≥ 0.
    NonNegative,
    /// A whole number ≥ 1.
    AtLeastOne,
    /// A probability in [0, 1).
    Probability,
    /// Any finite number of the field's type.
    Any,
}

/// One row of a field table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FieldInfo {
    /// Name in RON files and in `--set`.
    pub name: &'static str,
    /// Unit, as the docs show it.
    pub unit: &'static str,
    /// Default, as the docs show it.
    pub default: &'static str,
    /// What values are accepted.
    pub accepts: Accepts,
    /// `true` for whole numbers.
    pub whole: bool,
    /// Largest value the field's type holds exactly.
    pub max: f64,
    /// Meaning, as the docs show it.
    pub doc: &'static str,
}

impl FieldInfo {
    /// Checks `x` against the field's range and the limits of [`limits::check`]; the
    /// error names the field and the value.
    pub fn check(&self, x: f64) -> Result<(), String> {
        let field = self.name;
        let ok = x.is_finite()
            && match self.accepts {
                Accepts::Positive => x > 0.0,
                Accepts::NonNegative => x >= 0.0,
                Accepts::AtLeastOne => x >= 1.0,
                Accepts::Probability => (0.0..1.0).contains(&x),
                Accepts::Any => true,
            };
        if !ok {
            let want = match self.accepts {
                Accepts::Positive => "> 0",
                Accepts::NonNegative => ">= 0",
                Accepts::AtLeastOne => ">= 1",
                Accepts::Probability => "in [0, 1)",
                Accepts::Any => "finite",
            };
            return Err(format!("{field} must be {want} (got {x})"));
        }
        if self.whole && x.fract() != 0.0 {
            return Err(format!("{field} must be a whole number (got {x})"));
        }
        if x > self.max {
            return Err(format!("{field} must be at most {} (got {x})", self.max));
        }
        limits::check(field, x)
    }

    /// The row of the docs' field table: `| name | unit | default | meaning |`.
    pub fn markdown_row(&self) -> String {
        format!(
            "| `{}` | {} | {} | {} |",
            self.name, self.unit, self.default, self.doc
        )
    }
}

/// A value of a field as a number, and back.
pub trait Quantity {
    /// `true` for whole numbers.
    const WHOLE: bool;
    /// Largest value held exactly.
    const MAX: f64;
    /// The value (`None`: unset optional value).
    fn value(&self) -> Option<f64>;
    /// Sets the value from a number already checked by [`FieldInfo::check`].
    fn assign(&mut self, x: f64);
}

impl Quantity for f64 {
    const WHOLE: bool = false;
    const MAX: f64 = f64::MAX;
    fn value(&self) -> Option<f64> {
        Some(*self)
    }
    fn assign(&mut self, x: f64) {
        *self = x;
    }
}

impl Quantity for Option<f64> {
    const WHOLE: bool = false;
    const MAX: f64 = f64::MAX;
    fn value(&self) -> Option<f64> {
        *self
    }
    fn assign(&mut self, x: f64) {
        *self = Some(x);
    }
}

impl Quantity for u64 {
    const WHOLE: bool = true;
    const MAX: f64 = 9007199254740992.0; // 2^53: every whole number below is exact in f64
    fn value(&self) -> Option<f64> {
        Some(*self as f64)
    }
    fn assign(&mut self, x: f64) {
        *self = x as u64;
    }
}

impl Quantity for u32 {
    const WHOLE: bool = true;
    const MAX: f64 = u32::MAX as f64;
    fn value(&self) -> Option<f64> {
        Some(*self as f64)
    }
    fn assign(&mut self, x: f64) {
        *self = x as u32;
    }
}

/// A scenario override (`Option<T>`) applied to a profile value.
pub trait Override<O> {
    /// Replaces `self` with the override, if it is set.
    fn apply(&mut self, o: &O);
}

impl<T: Clone> Override<Option<T>> for T {
    fn apply(&mut self, o: &Option<T>) {
        if let Some(v) = o {
            *self = v.clone();
        }
    }
}

impl<T: Clone> Override<Option<T>> for Option<T> {
    fn apply(&mut self, o: &Option<T>) {
        if o.is_some() {
            self.clone_from(o);
        }
    }
}

/// Access to the fields of a table by name (profiles and the resolved network's
/// devices and links).
pub trait Fields {
    /// The table.
    const FIELDS: &'static [FieldInfo];
    /// The value of field `name` (`None`: unknown field or unset optional value).
    fn value(&self, name: &str) -> Option<f64>;
    /// Sets field `name` to `x` after checking it ([`FieldInfo::check`]). Errors name
    /// the field and what it accepts; an unknown name lists the known ones.
    fn set(&mut self, name: &str, x: f64) -> Result<(), String>;
    /// Every (field, message) whose value is not accepted.
    fn problems(&self) -> Vec<(&'static str, String)> {
        Self::FIELDS
            .iter()
            .filter_map(|f| {
                let x = self.value(f.name)?;
                f.check(x).err().map(|m| (f.name, m))
            })
            .collect()
    }
}

/// The device table; calls `$then! { $extra rows { ... } }`.
#[macro_export]
#[doc(hidden)]
macro_rules! device_table {
    ($then:ident ! { $($extra:tt)* }) => {
        $then! { $($extra)* rows {
            flash_bytes: u64 | Option<u64>, "bytes", "profile", Positive,
                "program memory available to the model (> 0).";
            sram_bytes: u64 | Option<u64>, "bytes", "profile", Positive,
                "data memory available to the model (> 0).";
            mac_per_s: f64 | Option<f64>, "MAC/s", "profile", Positive,
                "sustained int8 multiply-accumulates per second (> 0).";
            layer_overhead_us: f64 | Option<f64>, "µs", "profile", NonNegative,
                "fixed cost per executed layer (≥ 0). Layer time = `layer_overhead_us + macs / mac_per_s`.";
            active_mw: f64 | Option<f64>, "mW", "profile", NonNegative,
                "power while computing (≥ 0).";
            idle_mw: f64 | Option<f64>, "mW", "profile", NonNegative,
                "power while idle (≥ 0).";
            tx_mw: f64 | Option<f64>, "mW", "profile", NonNegative,
                "radio power while transmitting (≥ 0).";
            rx_mw: f64 | Option<f64>, "mW", "profile", NonNegative,
                "radio power while receiving (≥ 0).";
            #[serde(default)]
            battery_mj: Option<f64> | Option<f64>, "mJ", "profile (`None` = mains)", Positive,
                "battery capacity; gives the device's lifetime.";
            #[serde(default = "crate::scenario::fields::one")]
            cores: u32 | Option<u32>, "count", "profile (default 1)", AtLeastOne,
                "parallel inference servers (≥ 1).";
        } }
    };
}

/// The link table; calls `$then! { $extra rows { ... } }`.
#[macro_export]
#[doc(hidden)]
macro_rules! link_table {
    ($then:ident ! { $($extra:tt)* }) => {
        $then! { $($extra)* rows {
            bandwidth_bps: f64 | Option<f64>, "bit/s", "profile", Positive,
                "effective application throughput (> 0), not the PHY rate.";
            latency_ms: f64 | Option<f64>, "ms", "profile", NonNegative,
                "per-hop propagation + processing latency (≥ 0).";
            mtu_bytes: u32 | Option<u32>, "bytes", "profile", AtLeastOne,
                "maximum frame size including headers (> `header_bytes`).";
            header_bytes: u32 | Option<u32>, "bytes", "profile", Any,
                "per-packet overhead.";
            #[serde(default)]
            loss: f64 | Option<f64>, "probability in [0, 1)", "profile (0)", Probability,
                "packet loss probability; lost packets are retransmitted, at most 7 times, after which the request is dropped ([simulation.md](simulation.md#the-inference-model)).";
        } }
    };
}

/// Default of `cores`.
pub fn one() -> u32 {
    1
}

/// Generates a struct with `head` fields, one field per row (profile type, the row's
/// attributes and meaning) and `tail` fields.
#[macro_export]
#[doc(hidden)]
macro_rules! table_struct {
    (
        $(#[$smeta:meta])* struct $Name:ident { head { $($head:tt)* } tail { $($tail:tt)* } }
        rows { $( $(#[$m:meta])* $f:ident : $ty:ty | $oty:ty, $unit:literal, $default:literal,
                  $acc:ident, $doc:literal; )* }
    ) => {
        $(#[$smeta])*
        pub struct $Name {
            $($head)*
            $( #[doc = $doc] $(#[$m])* pub $f: $ty, )*
            $($tail)*
        }
    };
}

/// Like [`table_struct!`] without the rows' attributes (no serde).
#[macro_export]
#[doc(hidden)]
macro_rules! table_plain_struct {
    (
        $(#[$smeta:meta])* struct $Name:ident { head { $($head:tt)* } tail { $($tail:tt)* } }
        rows { $( $(#[$m:meta])* $f:ident : $ty:ty | $oty:ty, $unit:literal, $default:literal,
                  $acc:ident, $doc:literal; )* }
    ) => {
        $(#[$smeta])*
        pub struct $Name {
            $($head)*
            $( #[doc = $doc] pub $f: $ty, )*
            $($tail)*
        }
    };
}

/// Generates a struct whose row fields are the overrides (`Option`s).
#[macro_export]
#[doc(hidden)]
macro_rules! table_override_struct {
    (
        $(#[$smeta:meta])* struct $Name:ident { head { $($head:tt)* } tail { $($tail:tt)* } }
        rows { $( $(#[$m:meta])* $f:ident : $ty:ty | $oty:ty, $unit:literal, $default:literal,
                  $acc:ident, $doc:literal; )* }
    ) => {
        $(#[$smeta])*
        pub struct $Name {
            $($head)*
            $( #[doc = concat!("Override of the profile's `", stringify!($f), "`.")] pub $f: $oty, )*
            $($tail)*
        }
    };
}

/// Implements [`Fields`](crate::scenario::fields::Fields) for `$T` (which has every row
/// as a field of the profile type).
#[macro_export]
#[doc(hidden)]
macro_rules! table_fields_impl {
    (
        $T:ty;
        rows { $( $(#[$m:meta])* $f:ident : $ty:ty | $oty:ty, $unit:literal, $default:literal,
                  $acc:ident, $doc:literal; )* }
    ) => {
        impl $crate::scenario::fields::Fields for $T {
            const FIELDS: &'static [$crate::scenario::fields::FieldInfo] = &[
                $( $crate::scenario::fields::FieldInfo {
                    name: stringify!($f),
                    unit: $unit,
                    default: $default,
                    accepts: $crate::scenario::fields::Accepts::$acc,
                    whole: <$ty as $crate::scenario::fields::Quantity>::WHOLE,
                    max: <$ty as $crate::scenario::fields::Quantity>::MAX,
                    doc: $doc,
                }, )*
            ];
            fn value(&self, name: &str) -> Option<f64> {
                use $crate::scenario::fields::Quantity;
                match name {
                    $( stringify!($f) => self.$f.value(), )*
                    _ => None,
                }
            }
            fn set(&mut self, name: &str, x: f64) -> Result<(), String> {
                use $crate::scenario::fields::Quantity;
                let Some(info) = Self::FIELDS.iter().find(|f| f.name == name) else {
                    let known: Vec<&str> = Self::FIELDS.iter().map(|f| f.name).collect();
                    return Err(format!("unknown field `{name}`; expected one of {}", known.join(", ")));
                };
                info.check(x)?;
                match name {
                    $( stringify!($f) => self.$f.assign(x), )*
                    _ => {}
                }
                Ok(())
            }
        }
    };
}

/// Implements `apply_overrides(&mut self, &$Spec)` on the profile `$T`.
#[macro_export]
#[doc(hidden)]
macro_rules! table_merge_impl {
    (
        $T:ty, $Spec:ty;
        rows { $( $(#[$m:meta])* $f:ident : $ty:ty | $oty:ty, $unit:literal, $default:literal,
                  $acc:ident, $doc:literal; )* }
    ) => {
        impl $T {
            /// Replaces every field the scenario's spec overrides.
            pub fn apply_overrides(&mut self, spec: &$Spec) {
                use $crate::scenario::fields::Override;
                $( self.$f.apply(&spec.$f); )*
            }
        }
    };
}

/// Implements `From<(&Profile, extra...)>`-like copying of every row from a profile.
#[macro_export]
#[doc(hidden)]
macro_rules! table_copy {
    (
        $from:expr => $To:ident { $($extra:tt)* };
        rows { $( $(#[$m:meta])* $f:ident : $ty:ty | $oty:ty, $unit:literal, $default:literal,
                  $acc:ident, $doc:literal; )* }
    ) => {
        $To { $( $f: $from.$f.clone(), )* $($extra)* }
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::{DeviceProfile, LinkProfile};

    #[test]
    fn ranges_and_whole_numbers_are_checked() {
        let f = |name: &str| {
            *DeviceProfile::FIELDS
                .iter()
                .chain(LinkProfile::FIELDS)
                .find(|f| f.name == name)
                .unwrap()
        };
        assert!(f("flash_bytes").check(1.0).is_ok());
        assert_eq!(
            f("flash_bytes").check(0.0).unwrap_err(),
            "flash_bytes must be > 0 (got 0)"
        );
        assert_eq!(
            f("flash_bytes").check(1.5).unwrap_err(),
            "flash_bytes must be a whole number (got 1.5)"
        );
        assert!(f("idle_mw").check(0.0).is_ok());
        assert!(f("idle_mw").check(-1.0).is_err());
        assert!(f("idle_mw").check(f64::NAN).is_err());
        assert!(f("tx_mw").check(1e308).unwrap_err().contains("10 kW"));
        assert!(f("loss").check(0.0).is_ok());
        assert!(f("loss").check(1.0).is_err());
        assert!(f("cores").check(0.0).is_err());
        assert!(f("header_bytes").check(0.0).is_ok());
    }

    #[test]
    fn set_and_value_go_through_the_table() {
        let mut p = crate::scenario::profiles::shipped_device_profile("nrf52840").unwrap();
        p.set("mac_per_s", 2e8).unwrap();
        assert_eq!(p.mac_per_s, 2e8);
        p.set("battery_mj", 5.0).unwrap();
        assert_eq!(p.battery_mj, Some(5.0));
        assert_eq!(p.value("cores"), Some(1.0));
        assert!(p.set("cores", 0.0).is_err());
        assert!(p
            .set("colour", 1.0)
            .unwrap_err()
            .starts_with("unknown field `colour`; expected one of flash_bytes, sram_bytes"));
        let mut spec = crate::scenario::DeviceSpec {
            flash_bytes: Some(4096),
            battery_mj: Some(9.0),
            ..Default::default()
        };
        p.apply_overrides(&spec);
        assert_eq!(
            (p.flash_bytes, p.battery_mj, p.sram_bytes),
            (4096, Some(9.0), 256 << 10)
        );
        spec.battery_mj = None;
        p.apply_overrides(&spec);
        assert_eq!(
            p.battery_mj,
            Some(9.0),
            "an unset override keeps the profile's value"
        );
    }
}
