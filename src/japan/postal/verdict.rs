//! What checking a postal code against an address says: the agreement
//! found ([`Status`]), the reason for a reject, the 住所A/住所B [`Split`] and
//! suggested codes. Plain data; uses nothing else of the crate.

/// The parts of an address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Split {
    /// 住所A: prefecture (as written), city and town.
    pub a: String,
    /// 住所B: everything after the town (丁目, 番地, 号, building, room).
    pub b: String,
    /// The town name the split used (empty for a catch-all code).
    pub town: String,
}

/// How a postal code and an address relate, from best to worst agreement
/// (the order is used to report the most specific failure).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Status {
    /// Not a 7-digit code.
    InvalidCode,
    /// No such code in the table.
    UnknownCode,
    /// The address is in another prefecture.
    PrefectureMismatch,
    /// Same prefecture (or none written), another city.
    CityMismatch,
    /// Same city, another town.
    TownMismatch,
    /// Same town, but the 丁目 belongs to another code of that town.
    ChomeMismatch,
    /// The code and the address agree.
    Match,
}

impl Status {
    /// A stable lower-case name (`match`, `town_mismatch`, …) for files and tests.
    pub fn name(self) -> &'static str {
        match self {
            Status::InvalidCode => "invalid_code",
            Status::UnknownCode => "unknown_code",
            Status::PrefectureMismatch => "prefecture_mismatch",
            Status::CityMismatch => "city_mismatch",
            Status::TownMismatch => "town_mismatch",
            Status::ChomeMismatch => "chome_mismatch",
            Status::Match => "match",
        }
    }
}

/// The result of [`PostalData::check_address`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// The agreement found.
    pub status: Status,
    /// For a failure: the reason, in Japanese with an English gloss, for a
    /// reject or warning (it names the code and its place, not the address).
    pub reason: String,
    /// On [`Status::Match`]: the 住所A / 住所B split.
    pub split: Option<Split>,
    /// Codes that would fit the address, when known (`NNN-NNNN`).
    pub suggestions: Vec<String>,
}

impl Verdict {
    pub(super) fn new(status: Status, reason: String) -> Verdict {
        Verdict {
            status,
            reason,
            split: None,
            suggestions: Vec::new(),
        }
    }

    /// Whether the code and the address agree.
    pub fn is_match(&self) -> bool {
        self.status == Status::Match
    }
}
