//! Where orders go: a small atlas of countries with their cities and regions, street names,
//! phone and postcode shapes, currency, locale, banks and couriers, so one order's fields agree
//! with each other (a Haifa address gets an Israeli phone, shekels and a Hebrew name).
//!
//! The atlas is data, in `countries.txt` (format: [`crate::tables`]). Postcodes are digits only
//! because contract §1 says so, even where real ones have letters.

use crate::names::{self, Names};
use crate::tables::{self, Block};
use std::sync::LazyLock;

/// How a street address is written.
#[derive(Debug, Clone, Copy)]
pub(crate) enum AddressStyle {
    /// `221 Baker Street`
    HouseFirst,
    /// `Herzl 15`
    HouseLast,
    /// `ул. Ленина, д. 5, кв. 12`
    Russian,
    /// `丸の内1-9-1` (district, block, building)
    Japanese,
}

#[derive(Debug)]
pub(crate) struct Country {
    pub locale: &'static str,
    pub currency: &'static str,
    /// Prices are drawn in US cents and scaled by `num / den` into this currency's minor units.
    pub price_scale: (i64, i64),
    /// Country calling code (digits after `+`) and how many national digits follow it.
    pub phone: (&'static str, u32),
    pub zip_digits: u32,
    /// `(city, region)`
    pub cities: Vec<(&'static str, &'static str)>,
    pub streets: Vec<&'static str>,
    pub address: AddressStyle,
    pub names: &'static Names,
    pub banks: Vec<&'static str>,
    pub couriers: Vec<&'static str>,
    /// Relative share of orders shipped here.
    pub weight: u32,
}

/// Every country of `countries.txt`, in file order (the order weighted picks walk). The file is
/// part of the build and a unit test reads it, so a mistake in it fails the tests, not a run.
pub(crate) static COUNTRIES: LazyLock<Vec<Country>> = LazyLock::new(|| {
    tables::blocks(include_str!("countries.txt"))
        .and_then(|blocks| blocks.iter().map(Country::from_block).collect())
        .unwrap_or_else(|err| panic!("countries.txt: {err}"))
});

impl Country {
    fn from_block(block: &Block) -> Result<Country, String> {
        let invalid = |key: &str| format!("[{}]: `{key}` is not valid", block.label);
        let number = |text: &str, key: &str| text.trim().parse().map_err(|_| invalid(key));
        let (num, den) = block
            .one("price scale")?
            .split_once('/')
            .ok_or_else(|| invalid("price scale"))?;
        let (code, national) = block
            .one("phone")?
            .strip_prefix('+')
            .and_then(|phone| phone.split_once(','))
            .and_then(|(code, national)| {
                let national = national.trim().strip_suffix(" digits")?.parse().ok()?;
                Some((code, national))
            })
            .ok_or_else(|| invalid("phone"))?;
        let address = match block.one("address")? {
            "house-first" => AddressStyle::HouseFirst,
            "house-last" => AddressStyle::HouseLast,
            "russian" => AddressStyle::Russian,
            "japanese" => AddressStyle::Japanese,
            _ => return Err(invalid("address")),
        };
        let culture = block.one("names")?;
        Ok(Country {
            locale: block.one("locale")?,
            currency: block.one("currency")?,
            price_scale: (number(num, "price scale")?, number(den, "price scale")?),
            phone: (code, national),
            zip_digits: block.parse("zip digits")?,
            cities: block.pairs("cities")?,
            streets: block.list("streets")?,
            address,
            names: names::culture(culture).ok_or_else(|| invalid("names"))?,
            banks: block.list("banks")?,
            couriers: block.list("couriers")?,
            weight: block.parse("weight")?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_country_is_read() {
        assert_eq!(COUNTRIES.len(), 16);
        let israel = &COUNTRIES[10];
        assert_eq!((israel.locale, israel.currency), ("he", "ILS"));
        assert_eq!(israel.price_scale, (37, 10));
        assert_eq!(israel.phone, ("972", 9));
        assert_eq!(israel.cities[3], ("Kiryat Mozkin", "Kraiot"));
        assert_eq!(israel.names.culture, "hebrew");
        assert!(COUNTRIES.iter().all(|country| country.weight > 0));
    }
}
