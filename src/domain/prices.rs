//! The spend meter's price table (DESIGN §10): USD per hour (or per
//! GB-month for storage lines), keyed by the registry's type label, then by
//! size (instance type, DB class, volume type) or `"*"`, with per-region
//! overrides. Read from `spend.prices_file`, or the table shipped in
//! `config/prices.toml` (compiled in, so a broker without the file still
//! prices what it knows).

use std::collections::BTreeMap;

use serde::Deserialize;

pub mod import;
mod offer;
mod rules;

/// Hours in a month, as AWS counts one: a GB-month line accrues 1/730 of
/// its price an hour, and a monthly price (a KMS key, a secret) is held in
/// the table per hour as 1/730 of it.
pub const HOURS_PER_MONTH: f64 = 730.0;

/// The table shipped with the broker.
pub const SHIPPED: &str = include_str!("../../config/prices.toml");

/// Prices of one type, by size.
type Sizes = BTreeMap<String, f64>;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    prices: BTreeMap<String, Sizes>,
    #[serde(default)]
    regions: BTreeMap<String, RegionFile>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RegionFile {
    #[serde(default)]
    prices: BTreeMap<String, Sizes>,
}

/// A validated price table.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct PriceTable {
    prices: BTreeMap<String, Sizes>,
    regions: BTreeMap<String, BTreeMap<String, Sizes>>,
}

impl PriceTable {
    /// Parses and checks a price file: every type a registered one (`known`
    /// answers), every price a finite number ≥ 0, every region a region
    /// name. The error names the key.
    pub fn parse(text: &str, known: impl Fn(&str) -> bool) -> Result<Self, String> {
        let file: File = toml_text(text)?;
        let mut table = Self { prices: file.prices, regions: BTreeMap::new() };
        check(&table.prices, "prices", &known)?;
        for (region, overrides) in file.regions {
            crate::domain::Region::parse(&region).map_err(|e| format!("regions.\"{region}\": {e}"))?;
            check(&overrides.prices, &format!("regions.\"{region}\".prices"), &known)?;
            table.regions.insert(region, overrides.prices);
        }
        Ok(table)
    }

    /// The price of `size` of `kind` in `region`: the region's own for the
    /// size, then its `*`, then the table's for the size, then its `*`.
    pub fn price(&self, region: &str, kind: &str, size: &str) -> Option<f64> {
        let pick = |sizes: Option<&Sizes>| sizes.and_then(|s| s.get(size).or_else(|| s.get("*")).copied());
        pick(self.regions.get(region).and_then(|r| r.get(kind))).or_else(|| pick(self.prices.get(kind)))
    }

    /// Whether the table prices `kind` at all (in some size or region): a
    /// resource of such a type that cannot be priced is `unpriced`; one of
    /// a type the table never names is outside the estimate.
    pub fn prices(&self, kind: &str) -> bool {
        self.prices.contains_key(kind) || self.regions.values().any(|r| r.contains_key(kind))
    }

    /// How many prices the table holds.
    pub fn len(&self) -> usize {
        self.prices.values().chain(self.regions.values().flat_map(BTreeMap::values)).map(BTreeMap::len).sum()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// TOML through figment (already the configuration's parser), so the
/// error says where.
fn toml_text<T: serde::de::DeserializeOwned>(text: &str) -> Result<T, String> {
    use figment::providers::{Format, Toml};
    figment::Figment::from(Toml::string(text)).extract().map_err(|e| e.to_string())
}

fn check(prices: &BTreeMap<String, Sizes>, at: &str, known: &impl Fn(&str) -> bool) -> Result<(), String> {
    for (kind, sizes) in prices {
        if !known(kind) {
            return Err(format!("{at}.\"{kind}\": not a resource type the registry knows (see `cleanup types`)"));
        }
        if let Some((size, price)) = sizes.iter().find(|(_, p)| !p.is_finite() || **p < 0.0) {
            return Err(format!("{at}.\"{kind}\".\"{size}\": {price} is not a price (USD ≥ 0)"));
        }
    }
    Ok(())
}

/// A small table for the tests of what reads one.
#[cfg(test)]
pub(crate) const TEST_TABLE: &str = r#"
    [prices."ec2:instance"]
    "t3.micro" = 0.0104
    "m5.large" = 0.096
    [prices."ec2:natgateway"]
    "*" = 0.045
    [prices."ec2:volume"]
    gp3 = 0.08
    [regions."eu-west-1".prices."ec2:instance"]
    "t3.micro" = 0.0114
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn known(kind: &str) -> bool {
        ["ec2:instance", "ec2:natgateway", "ec2:volume"].contains(&kind)
    }

    const TABLE: &str = TEST_TABLE;

    #[test]
    fn a_region_overrides_the_table_and_a_star_prices_every_size() {
        let table = PriceTable::parse(TABLE, known).unwrap();
        assert_eq!(table.price("us-east-1", "ec2:instance", "t3.micro"), Some(0.0104));
        assert_eq!(table.price("eu-west-1", "ec2:instance", "t3.micro"), Some(0.0114));
        assert_eq!(table.price("eu-west-1", "ec2:instance", "m5.large"), Some(0.096));
        assert_eq!(table.price("eu-west-1", "ec2:natgateway", "anything"), Some(0.045));
        assert_eq!(table.price("us-east-1", "ec2:instance", "x9.huge"), None);
        assert!(table.prices("ec2:instance") && !table.prices("ec2:snapshot"));
        assert_eq!(table.len(), 5);
    }

    #[test]
    fn a_bad_file_is_refused_with_the_key_named() {
        let unknown = PriceTable::parse("[prices.\"ec2:teleporter\"]\n\"*\" = 1.0", known).unwrap_err();
        assert!(unknown.contains("prices.\"ec2:teleporter\"") && unknown.contains("registry"), "{unknown}");
        let negative = PriceTable::parse("[prices.\"ec2:natgateway\"]\n\"*\" = -1.0", known).unwrap_err();
        assert!(negative.contains("\"ec2:natgateway\".\"*\""), "{negative}");
        let text = PriceTable::parse("[prices.\"ec2:natgateway\"]\n\"*\" = \"cheap\"", known).unwrap_err();
        assert!(!text.is_empty());
        let region = PriceTable::parse("[regions.\"moon-1\".prices.\"ec2:natgateway\"]\n\"*\" = 1.0", known);
        assert!(region.unwrap_err().contains("moon-1"));
        let field = PriceTable::parse("[currency]\nname = \"EUR\"", known).unwrap_err();
        assert!(field.contains("currency"), "{field}");
        assert!(PriceTable::parse("not toml [", known).is_err());
    }

    #[test]
    fn the_shipped_table_parses_against_the_registry() {
        let table = PriceTable::parse(SHIPPED, |k| sandbox_reset::registry::find(k).is_some()).unwrap();
        for (kind, size) in [("ec2:instance", "t3.micro"), ("ec2:natgateway", "*"), ("rds:db", "storage:gp2")] {
            assert!(table.price("us-east-1", kind, size).is_some(), "{kind} {size}");
            assert!(table.price("eu-west-1", kind, size).is_some(), "{kind} {size}");
        }
    }
}
