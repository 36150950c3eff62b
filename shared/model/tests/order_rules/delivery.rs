//! The delivery fields with a format: phone, zip, email and the recipient's name.

use crate::{assert_fails_at, assert_valid, with_delivery};

/// Each of `good` is accepted as delivery `field`; each of `bad` is rejected naming that field
/// alone.
#[track_caller]
fn assert_rule(field: &str, good: &[&str], bad: &[&str]) {
    for text in good {
        assert_valid(&with_delivery(field, text));
    }
    let path = format!("delivery.{field}");
    for text in bad {
        assert_fails_at(&with_delivery(field, text), &[path.as_str()]);
    }
}

#[test]
fn each_formatted_field_accepts_its_good_values_and_rejects_its_bad_ones() {
    let long_local_part = format!("{}@gmail.com", "a".repeat(65)); // over 64 characters
    let rules: [(&str, &[&str], &[&str]); 4] = [
        // Phone: `+` and 7 to 15 digits.
        (
            "phone",
            &["+1234567", "+123456789012345", "+9720000000", "+0000000"],
            &[
                "+123456",           // 6 digits
                "+1234567890123456", // 16 digits
                "1234567",           // no +
                "9720000000",
                "++1234567",
                "+",
                "",
                "+123 4567",
                "+123-4567",
                "+(972)0000000",
                "+1234567 ",
                " +1234567",
                "+1234567\n",
                "00972000000",
                "+１２３４５６７", // full-width digits
                "+١٢٣٤٥٦٧",        // Arabic-Indic digits
                "+12345e7",
            ],
        ),
        // Zip: 3 to 10 digits.
        (
            "zip",
            &["123", "007", "2639809", "1234567890"],
            &[
                "12",
                "12345678901",
                "",
                "12a",
                "SW1A 1AA",
                "123 45",
                "123-45",
                " 123",
                "-123",
                "١٢٣",
                "１２３",
            ],
        ),
        // Email: a syntactically valid address.
        (
            "email",
            &[
                "test@gmail.com",
                "first.last+tag@mail.example.co.uk",
                "o'brien@example.ie",
                "x@example.org",
                "user_name-1@sub-domain.example.com",
                "user@[192.168.0.1]",
                "user@пример.рф", // internationalized domain
            ],
            &[
                "",
                "plain",
                "test.gmail.com",
                "@gmail.com",
                "test@",
                "test@@gmail.com",
                "test at gmail.com",
                "te st@gmail.com",
                "test@gm ail.com",
                "test@.gmail.com",
                "test@gmail..com",
                "test@gmail.com.",
                "test@-gmail.com",
                "test@gmail.com\n",
                "<test@gmail.com>",
                &long_local_part, // local part over 64 characters
            ],
        ),
        // Name: letters of any script, spaces, hyphens, apostrophes and dots.
        (
            "name",
            &[
                "Test Testov",
                "Jean-Luc O'Brien",
                "J. R. R. Tolkien",
                "Иван Петров",
                "Ζωή Παπαδοπούλου",
                "Jürgen Weiß",
                "Nguyễn Văn An",
                "张伟",
                "山田 太郎",
                "김민준",
                "محمد علي",
                "דוד לוי",
                "ნინო ბერიძე",
                // Scripts whose letters combine with marks that are not letters themselves: the virama
                // in शर्मा, the Thai tone mark in สมศักดิ์, a decomposed (NFD) é.
                "राहुल शर्मा",
                "কৃষ্ণ দাস",
                "สมศักดิ์ ใจดี",
                "Jose\u{301} Garci\u{301}a",
                "X",
            ],
            &[
                "",
                " ",
                "R2D2",
                "Agent 47",
                "Test Testov 3rd",
                "Иван٣",
                "John_Smith",
                "john@home",
                "John (VIP)",
                "John, Jr",
                "John #42",
                "😀",
                "Test 😀",
                "Anna\tMaria",
                "Anna\nMaria",
                "Anna\u{200B}Maria", // zero-width space
                "\u{301}Jose",       // a combining mark with no letter to combine with
                "- \u{301}",
            ],
        ),
    ];
    for (field, good, bad) in rules {
        assert_rule(field, good, bad);
    }
}
