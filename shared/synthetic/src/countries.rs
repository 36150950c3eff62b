//! Where orders go: a small atlas of countries with their cities and regions, street names,
//! phone and postcode shapes, currency, locale, banks and couriers, so one order's fields agree
//! with each other (a Haifa address gets an Israeli phone, shekels and a Hebrew name).
//!
//! Postcodes are digits only because contract §1 says so, even where real ones have letters.

use super::names::{self, Names};

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
    pub cities: &'static [(&'static str, &'static str)],
    pub streets: &'static [&'static str],
    pub address: AddressStyle,
    pub names: &'static Names,
    pub banks: &'static [&'static str],
    pub couriers: &'static [&'static str],
    /// Relative share of orders shipped here.
    pub weight: u32,
}

// One country per block reads better than rustfmt's one-field-per-line layout.
#[rustfmt::skip]
pub(crate) static COUNTRIES: &[Country] = &[
    Country {
        locale: "en", currency: "USD", price_scale: (1, 1), phone: ("1", 10), zip_digits: 5,
        cities: &[("New York", "New York"), ("Chicago", "Illinois"), ("Austin", "Texas"),
            ("Seattle", "Washington"), ("Miami", "Florida"), ("Denver", "Colorado")],
        streets: &["Maple Street", "Oak Avenue", "Sunset Boulevard", "Main Street", "Elm Drive"],
        address: AddressStyle::HouseFirst, names: &names::ENGLISH,
        banks: &["chase", "wells-fargo", "citi", "bank-of-america"], couriers: &["ups", "fedex", "usps"],
        weight: 14,
    },
    Country {
        locale: "en", currency: "GBP", price_scale: (4, 5), phone: ("44", 10), zip_digits: 6,
        cities: &[("London", "Greater London"), ("Manchester", "Greater Manchester"),
            ("Edinburgh", "Scotland"), ("Bristol", "South West England")],
        streets: &["Baker Street", "High Street", "Abbey Road", "Victoria Road"],
        address: AddressStyle::HouseFirst, names: &names::ENGLISH,
        banks: &["barclays", "hsbc", "lloyds", "monzo"], couriers: &["royal-mail", "dpd", "evri"],
        weight: 8,
    },
    Country {
        locale: "de", currency: "EUR", price_scale: (9, 10), phone: ("49", 10), zip_digits: 5,
        cities: &[("Berlin", "Berlin"), ("München", "Bayern"), ("Köln", "Nordrhein-Westfalen"),
            ("Düsseldorf", "Nordrhein-Westfalen"), ("Dresden", "Sachsen")],
        streets: &["Hauptstraße", "Schloßallee", "Goethestraße", "Königsweg", "Am Bächle"],
        address: AddressStyle::HouseLast, names: &names::GERMAN,
        banks: &["deutsche-bank", "commerzbank", "sparkasse", "n26"], couriers: &["dhl", "hermes", "dpd"],
        weight: 8,
    },
    Country {
        locale: "fr", currency: "EUR", price_scale: (9, 10), phone: ("33", 9), zip_digits: 5,
        cities: &[("Paris", "Île-de-France"), ("Lyon", "Auvergne-Rhône-Alpes"),
            ("Marseille", "Provence-Alpes-Côte d'Azur"), ("Nantes", "Pays de la Loire")],
        streets: &["rue de Rivoli", "avenue des Champs-Élysées", "rue Mouffetard", "boulevard Haussmann"],
        address: AddressStyle::HouseFirst, names: &names::FRENCH,
        banks: &["bnp-paribas", "societe-generale", "credit-agricole"], couriers: &["colissimo", "chronopost"],
        weight: 6,
    },
    Country {
        locale: "es", currency: "EUR", price_scale: (9, 10), phone: ("34", 9), zip_digits: 5,
        cities: &[("Madrid", "Comunidad de Madrid"), ("Barcelona", "Cataluña"), ("Sevilla", "Andalucía")],
        streets: &["Calle Mayor", "Gran Vía", "Paseo de Gracia", "Calle de Alcalá"],
        address: AddressStyle::HouseLast, names: &names::SPANISH,
        banks: &["santander", "bbva", "caixabank"], couriers: &["correos", "seur"],
        weight: 4,
    },
    Country {
        locale: "pt", currency: "BRL", price_scale: (5, 1), phone: ("55", 11), zip_digits: 8,
        cities: &[("São Paulo", "São Paulo"), ("Rio de Janeiro", "Rio de Janeiro"), ("Belo Horizonte", "Minas Gerais")],
        streets: &["Avenida Paulista", "Rua Augusta", "Avenida Atlântica", "Rua da Consolação"],
        address: AddressStyle::HouseLast, names: &names::PORTUGUESE,
        banks: &["itau", "bradesco", "nubank"], couriers: &["correios", "jadlog"],
        weight: 4,
    },
    Country {
        locale: "pl", currency: "PLN", price_scale: (4, 1), phone: ("48", 9), zip_digits: 5,
        cities: &[("Warszawa", "mazowieckie"), ("Kraków", "małopolskie"), ("Gdańsk", "pomorskie")],
        streets: &["ulica Marszałkowska", "Floriańska", "Długa", "aleja Grunwaldzka"],
        address: AddressStyle::HouseLast, names: &names::POLISH,
        banks: &["pko-bp", "mbank", "pekao"], couriers: &["inpost", "poczta-polska"],
        weight: 3,
    },
    Country {
        locale: "tr", currency: "TRY", price_scale: (32, 1), phone: ("90", 10), zip_digits: 5,
        cities: &[("İstanbul", "İstanbul"), ("Ankara", "Ankara"), ("İzmir", "İzmir")],
        streets: &["İstiklal Caddesi", "Bağdat Caddesi", "Atatürk Bulvarı"],
        address: AddressStyle::HouseLast, names: &names::TURKISH,
        banks: &["ziraat", "garanti-bbva", "is-bankasi"], couriers: &["yurtici", "aras-kargo"],
        weight: 3,
    },
    Country {
        locale: "ru", currency: "RUB", price_scale: (90, 1), phone: ("7", 10), zip_digits: 6,
        cities: &[("Москва", "Москва"), ("Санкт-Петербург", "Санкт-Петербург"),
            ("Казань", "Республика Татарстан"), ("Новосибирск", "Новосибирская область"),
            ("Екатеринбург", "Свердловская область")],
        streets: &["ул. Ленина", "Тверская ул.", "Невский пр.", "ул. Баумана", "Ploshad Mira"],
        address: AddressStyle::Russian, names: &names::RUSSIAN,
        banks: &["alpha", "sber", "tinkoff", "vtb"], couriers: &["cdek", "boxberry", "meest", "russian-post"],
        weight: 14,
    },
    Country {
        locale: "el", currency: "EUR", price_scale: (9, 10), phone: ("30", 10), zip_digits: 5,
        cities: &[("Αθήνα", "Αττική"), ("Θεσσαλονίκη", "Κεντρική Μακεδονία"), ("Ηράκλειο", "Κρήτη")],
        streets: &["Ερμού", "Πανεπιστημίου", "Λεωφόρος Συγγρού", "Τσιμισκή"],
        address: AddressStyle::HouseLast, names: &names::GREEK,
        banks: &["piraeus", "alpha-bank-gr", "eurobank"], couriers: &["elta", "acs"],
        weight: 3,
    },
    Country {
        locale: "he", currency: "ILS", price_scale: (37, 10), phone: ("972", 9), zip_digits: 7,
        cities: &[("תל אביב-יפו", "מחוז תל אביב"), ("חיפה", "מחוז חיפה"), ("ירושלים", "מחוז ירושלים"),
            ("Kiryat Mozkin", "Kraiot")],
        streets: &["הרצל", "רוטשילד", "דרך בגין", "אלנבי", "Ploshad Mira"],
        address: AddressStyle::HouseLast, names: &names::HEBREW,
        banks: &["hapoalim", "leumi", "discount", "alpha"], couriers: &["israel-post", "meest"],
        weight: 6,
    },
    Country {
        locale: "ar", currency: "AED", price_scale: (37, 10), phone: ("971", 9), zip_digits: 5,
        cities: &[("دبي", "إمارة دبي"), ("أبو ظبي", "إمارة أبو ظبي"), ("الشارقة", "إمارة الشارقة")],
        streets: &["شارع الشيخ زايد", "شارع الوصل", "شارع الكورنيش"],
        address: AddressStyle::HouseLast, names: &names::ARABIC,
        banks: &["emirates-nbd", "fab", "mashreq"], couriers: &["aramex", "emirates-post"],
        weight: 4,
    },
    Country {
        locale: "ka", currency: "GEL", price_scale: (27, 10), phone: ("995", 9), zip_digits: 4,
        cities: &[("თბილისი", "თბილისი"), ("ბათუმი", "აჭარა")],
        streets: &["რუსთაველის გამზირი", "ჭავჭავაძის გამზირი"],
        address: AddressStyle::HouseLast, names: &names::GEORGIAN,
        banks: &["tbc", "bank-of-georgia"], couriers: &["georgian-post", "meest"],
        weight: 2,
    },
    Country {
        locale: "ja", currency: "JPY", price_scale: (3, 2), phone: ("81", 10), zip_digits: 7,
        cities: &[("東京", "東京都"), ("大阪", "大阪府"), ("札幌", "北海道"), ("福岡", "福岡県")],
        streets: &["丸の内", "渋谷区道玄坂", "中央区銀座", "北区梅田"],
        address: AddressStyle::Japanese, names: &names::JAPANESE,
        banks: &["mufg", "mizuho", "smbc"], couriers: &["yamato", "sagawa", "japan-post"],
        weight: 4,
    },
    Country {
        locale: "ko", currency: "KRW", price_scale: (13, 1), phone: ("82", 10), zip_digits: 5,
        cities: &[("서울", "서울특별시"), ("부산", "부산광역시"), ("인천", "인천광역시")],
        streets: &["세종대로", "테헤란로", "해운대로"],
        address: AddressStyle::HouseLast, names: &names::KOREAN,
        banks: &["kb-kookmin", "shinhan", "woori"], couriers: &["cj-logistics", "hanjin"],
        weight: 3,
    },
    Country {
        locale: "zh", currency: "CNY", price_scale: (7, 1), phone: ("86", 11), zip_digits: 6,
        cities: &[("北京", "北京市"), ("上海", "上海市"), ("深圳", "广东省"), ("成都", "四川省")],
        streets: &["长安街", "南京路", "深南大道", "春熙路"],
        address: AddressStyle::HouseLast, names: &names::CHINESE,
        banks: &["icbc", "bank-of-china", "ccb"], couriers: &["sf-express", "china-post"],
        weight: 4,
    },
];
