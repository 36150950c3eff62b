//! What people buy and how they pay: products with brands, sizes and price ranges, payment
//! providers, e-mail domains and marketplace entry points. Kept apart from the generator so the
//! vocabulary can grow without touching the logic.

/// Sizes that fit a kind of product.
pub(crate) static CLOTHING_SIZES: &[&str] = &["XS", "S", "M", "L", "XL", "XXL"];
pub(crate) static SHOE_SIZES: &[&str] =
    &["36", "37", "38", "39", "40", "41", "42", "43", "44", "45"];
/// `"0"` is what the reference order uses for products without a size.
pub(crate) static NO_SIZE: &[&str] = &["0"];
pub(crate) static VOLUME_SIZES: &[&str] = &["50ml", "100ml", "250ml", "500ml", "1l"];

/// One kind of product.
#[derive(Debug)]
pub(crate) struct Product {
    pub name: &'static str,
    pub brands: &'static [&'static str],
    pub sizes: &'static [&'static str],
    /// Inclusive price range in US cents before currency scaling.
    pub price_cents: (i64, i64),
}

// One product per line, like a price list.
#[rustfmt::skip]
pub(crate) static PRODUCTS: &[Product] = &[
    Product { name: "Mascaras", brands: &["Vivienne Sabo", "Maybelline", "L'Oréal"], sizes: NO_SIZE, price_cents: (299, 2_499) },
    Product { name: "Lipstick", brands: &["MAC", "Maybelline", "Bourjois"], sizes: NO_SIZE, price_cents: (399, 3_999) },
    Product { name: "Shampoo", brands: &["Head & Shoulders", "Schwarzkopf", "Natura Siberica"], sizes: VOLUME_SIZES, price_cents: (249, 1_999) },
    Product { name: "Face cream", brands: &["Nivea", "La Roche-Posay", "Clinique"], sizes: VOLUME_SIZES, price_cents: (599, 8_999) },
    Product { name: "T-shirt", brands: &["Uniqlo", "H&M", "Zara", "Gloria Jeans"], sizes: CLOTHING_SIZES, price_cents: (499, 3_999) },
    Product { name: "Jeans", brands: &["Levi's", "Wrangler", "Lee", "Diesel"], sizes: CLOTHING_SIZES, price_cents: (2_999, 14_999) },
    Product { name: "Hoodie", brands: &["Nike", "Adidas", "Puma", "Champion"], sizes: CLOTHING_SIZES, price_cents: (2_499, 9_999) },
    Product { name: "Winter jacket", brands: &["The North Face", "Columbia", "Finn Flare"], sizes: CLOTHING_SIZES, price_cents: (7_999, 39_999) },
    Product { name: "Sneakers", brands: &["Nike", "Adidas", "New Balance", "Asics"], sizes: SHOE_SIZES, price_cents: (4_999, 19_999) },
    Product { name: "Boots", brands: &["Dr. Martens", "Timberland", "Ecco"], sizes: SHOE_SIZES, price_cents: (7_999, 29_999) },
    Product { name: "Socks, 3 pairs", brands: &["Happy Socks", "Uniqlo", "Tezido"], sizes: SHOE_SIZES, price_cents: (299, 1_499) },
    Product { name: "Wireless earbuds", brands: &["Sony", "Xiaomi", "JBL", "Samsung"], sizes: NO_SIZE, price_cents: (1_999, 24_999) },
    Product { name: "Phone case", brands: &["Spigen", "OtterBox", "Baseus"], sizes: NO_SIZE, price_cents: (399, 4_999) },
    Product { name: "USB-C cable", brands: &["Anker", "Baseus", "Ugreen"], sizes: NO_SIZE, price_cents: (299, 1_999) },
    Product { name: "Smart watch", brands: &["Garmin", "Huawei", "Amazfit", "Samsung"], sizes: NO_SIZE, price_cents: (4_999, 59_999) },
    Product { name: "Coffee beans 1 kg", brands: &["Lavazza", "Illy", "Jacobs"], sizes: NO_SIZE, price_cents: (999, 4_999) },
    Product { name: "Green tea", brands: &["Greenfield", "Ahmad Tea", "Twinings"], sizes: NO_SIZE, price_cents: (199, 1_499) },
    Product { name: "Board game", brands: &["Hobby World", "Hasbro", "Ravensburger"], sizes: NO_SIZE, price_cents: (1_499, 8_999) },
    Product { name: "LEGO set", brands: &["LEGO"], sizes: NO_SIZE, price_cents: (999, 49_999) },
    Product { name: "Paperback novel", brands: &["Penguin", "Eksmo", "Gallimard"], sizes: NO_SIZE, price_cents: (499, 2_499) },
    Product { name: "Frying pan", brands: &["Tefal", "Fissler", "Rondell"], sizes: NO_SIZE, price_cents: (1_999, 14_999) },
    Product { name: "Bed linen set", brands: &["IKEA", "Togas", "Cleo"], sizes: &["single", "double", "king"], price_cents: (2_999, 19_999) },
    Product { name: "Yoga mat", brands: &["Decathlon", "Manduka", "Reebok"], sizes: NO_SIZE, price_cents: (999, 9_999) },
    Product { name: "Backpack", brands: &["Samsonite", "Xiaomi", "Herschel"], sizes: &["15l", "20l", "30l"], price_cents: (1_999, 19_999) },
    Product { name: "Dog food 3 kg", brands: &["Royal Canin", "Purina", "Acana"], sizes: NO_SIZE, price_cents: (1_499, 8_999) },
];

/// Payment processors, global and regional.
pub(crate) static PROVIDERS: &[&str] = &[
    "wbpay",
    "stripe",
    "paypal",
    "adyen",
    "yookassa",
    "cloudpayments",
    "tranzila",
    "checkout",
    "klarna",
];

/// Free-mail and corporate domains for `delivery.email`.
pub(crate) static EMAIL_DOMAINS: &[&str] = &[
    "gmail.com",
    "yahoo.com",
    "outlook.com",
    "proton.me",
    "yandex.ru",
    "mail.ru",
    "gmx.de",
    "orange.fr",
    "walla.co.il",
    "icloud.com",
    "example.org",
    "fastmail.com",
];

/// Marketplace entry points (the reference order's `WBIL`); the track number starts with one.
pub(crate) static ENTRIES: &[&str] = &["WBIL", "WBRU", "WBEU", "WBUS", "WBAS"];

/// Item statuses seen in the wild (the reference order has 202).
pub(crate) static ITEM_STATUSES: &[i64] = &[200, 201, 202, 202, 202, 300, 301, 400];
