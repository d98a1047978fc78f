//! Streams one AWS bulk price list offer file (`index.json` of a service:
//! `products`, then `terms.OnDemand`), keeping only what the caller wants.
//!
//! EC2's offer file runs to several gigabytes, so nothing is read whole:
//! serde visits `products` entry by entry, asks `keep` about each and
//! remembers only the SKUs it keeps; `terms.OnDemand` is then visited the
//! same way and only the kept SKUs' price dimensions are decoded. Memory is
//! bounded by what is kept (the configured regions' priced products), not
//! by the file. AWS writes `products` before `terms`; a file in the other
//! order is refused rather than buffered.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::Read;

use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, Visitor};

/// One product of the `products` section.
#[derive(Debug, Default, Deserialize)]
pub(super) struct Product {
    #[serde(rename = "productFamily", default)]
    pub(super) family: String,
    #[serde(default)]
    pub(super) attributes: BTreeMap<String, String>,
}

impl Product {
    /// An attribute, or `""` when the product has none by that name.
    pub(super) fn attr(&self, name: &str) -> &str {
        self.attributes.get(name).map_or("", String::as_str)
    }
}

/// One price dimension of an on-demand term.
#[derive(Debug, Deserialize)]
pub(super) struct Dimension {
    #[serde(default)]
    pub(super) unit: String,
    #[serde(rename = "pricePerUnit", default)]
    pub(super) price_per_unit: BTreeMap<String, String>,
}

#[derive(Deserialize)]
struct Term {
    #[serde(rename = "priceDimensions", default)]
    dimensions: HashMap<String, Dimension>,
}

/// What the file says about itself.
#[derive(Debug, Default)]
pub(super) struct OfferInfo {
    pub(super) offer_code: String,
    pub(super) publication_date: String,
    pub(super) products: u64,
    pub(super) kept: usize,
}

/// Reads one offer file: `keep` classifies each product (its SKU is kept
/// with the returned value), `price` receives each kept SKU's value with
/// the price dimensions of its on-demand terms.
pub(super) fn read<K>(
    reader: impl Read,
    keep: impl FnMut(&Product) -> Option<K>,
    price: impl FnMut(K, Vec<Dimension>),
) -> Result<OfferInfo, String> {
    let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::with_capacity(1 << 20, reader));
    let mut file = File { keep, price, kept: HashMap::new(), info: OfferInfo::default(), products_seen: false };
    Top(&mut file).deserialize(&mut de).map_err(|e| e.to_string())?;
    de.end().map_err(|e| e.to_string())?;
    if !file.products_seen {
        return Err("no `products` section: not an AWS price list offer file".into());
    }
    Ok(file.info)
}

struct File<K, Keep, Price> {
    keep: Keep,
    price: Price,
    kept: HashMap<String, K>,
    info: OfferInfo,
    products_seen: bool,
}

/// Generates the seed-and-visitor pair of one nested map of the file.
macro_rules! section {
    ($name:ident, $expecting:literal, |$file:ident, $map:ident| $body:block) => {
        struct $name<'f, K, Keep, Price>(&'f mut File<K, Keep, Price>);

        impl<'de, K, Keep, Price> DeserializeSeed<'de> for $name<'_, K, Keep, Price>
        where
            Keep: FnMut(&Product) -> Option<K>,
            Price: FnMut(K, Vec<Dimension>),
        {
            type Value = ();

            fn deserialize<D: Deserializer<'de>>(self, de: D) -> Result<(), D::Error> {
                de.deserialize_map(self)
            }
        }

        impl<'de, K, Keep, Price> Visitor<'de> for $name<'_, K, Keep, Price>
        where
            Keep: FnMut(&Product) -> Option<K>,
            Price: FnMut(K, Vec<Dimension>),
        {
            type Value = ();

            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str($expecting)
            }

            fn visit_map<A: MapAccess<'de>>(self, mut $map: A) -> Result<(), A::Error> {
                let $file = self.0;
                $body
                Ok(())
            }
        }
    };
}

section!(Top, "an AWS price list offer file (a JSON object)", |file, map| {
    while let Some(key) = map.next_key::<String>()? {
        match key.as_str() {
            "offerCode" => file.info.offer_code = map.next_value()?,
            "publicationDate" => file.info.publication_date = map.next_value()?,
            "products" => {
                map.next_value_seed(Products(&mut *file))?;
                file.products_seen = true;
            }
            "terms" if !file.products_seen => {
                return Err(A::Error::custom("`terms` before `products`: not the layout AWS publishes"));
            }
            "terms" => map.next_value_seed(Terms(&mut *file))?,
            _ => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
});

section!(Products, "`products`: products by SKU", |file, map| {
    while let Some(sku) = map.next_key::<String>()? {
        let product: Product = map.next_value()?;
        file.info.products += 1;
        if let Some(value) = (file.keep)(&product) {
            file.kept.insert(sku, value);
        }
    }
    file.info.kept = file.kept.len();
});

section!(Terms, "`terms`: terms by kind", |file, map| {
    while let Some(kind) = map.next_key::<String>()? {
        if kind == "OnDemand" {
            map.next_value_seed(OnDemand(&mut *file))?;
        } else {
            map.next_value::<IgnoredAny>()?;
        }
    }
});

section!(OnDemand, "`terms.OnDemand`: terms by SKU", |file, map| {
    while let Some(sku) = map.next_key::<String>()? {
        match file.kept.remove(&sku) {
            Some(value) => {
                let terms: HashMap<String, Term> = map.next_value()?;
                (file.price)(value, terms.into_values().flat_map(|t| t.dimensions.into_values()).collect());
            }
            None => {
                map.next_value::<IgnoredAny>()?;
            }
        }
    }
});
