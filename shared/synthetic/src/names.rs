//! People's names per culture, in their own script, each paired with an ASCII transliteration
//! so the generator can derive plausible e-mail addresses and customer ids from them.
//!
//! Every native name uses only letters (any script), spaces, `-`, `'` and `.`, the characters
//! contract §1 allows in `delivery.name`; the shared tests prove it over thousands of orders.

/// Given and family names of one culture: `(native, ascii)` pairs. The lists below skip
/// rustfmt so that several names share a line.
#[derive(Debug)]
pub(crate) struct Names {
    pub given: &'static [(&'static str, &'static str)],
    pub family: &'static [(&'static str, &'static str)],
    /// Family name first, without reordering for Western readers (East Asian convention).
    pub family_first: bool,
    /// Between the two parts: a space, or nothing where the script does not separate them.
    pub joiner: &'static str,
}

#[rustfmt::skip]
pub(crate) static ENGLISH: Names = Names {
    given: &[
        ("James", "james"), ("Mary", "mary"), ("Olivia", "olivia"), ("Liam", "liam"),
        ("Anne-Marie", "annemarie"), ("Noah", "noah"), ("Emma", "emma"), ("J. R.", "jr"),
        ("Siobhan", "siobhan"), ("Priya", "priya"), ("Mohammed", "mohammed"), ("Chloe", "chloe"),
    ],
    family: &[
        ("Smith", "smith"), ("O'Brien", "obrien"), ("Johnson", "johnson"), ("Williams", "williams"),
        ("Brown-Taylor", "browntaylor"), ("McDonald", "mcdonald"), ("Patel", "patel"),
        ("Nguyen", "nguyen"), ("Garcia", "garcia"), ("Walker", "walker"), ("D'Angelo", "dangelo"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static GERMAN: Names = Names {
    given: &[
        ("Jürgen", "juergen"), ("Lena", "lena"), ("Lukas", "lukas"), ("Anna-Lena", "annalena"),
        ("Jörg", "joerg"), ("Maximilian", "maximilian"), ("Sophie", "sophie"), ("Björn", "bjoern"),
    ],
    family: &[
        ("Müller", "mueller"), ("Schmidt", "schmidt"), ("Weiß", "weiss"), ("Schröder", "schroeder"),
        ("Becker", "becker"), ("von Bülow", "vonbuelow"), ("Hoffmann", "hoffmann"), ("Krüger", "krueger"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static FRENCH: Names = Names {
    given: &[
        ("François", "francois"), ("Hélène", "helene"), ("Jean-Luc", "jeanluc"), ("Chloé", "chloe"),
        ("Zoë", "zoe"), ("Théo", "theo"), ("Amélie", "amelie"), ("Benoît", "benoit"),
    ],
    family: &[
        ("Lefèvre", "lefevre"), ("Dubois", "dubois"), ("Moreau", "moreau"), ("Girard", "girard"),
        ("d'Artagnan", "dartagnan"), ("Rousseau", "rousseau"), ("Bérenger", "berenger"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static SPANISH: Names = Names {
    given: &[
        ("José", "jose"), ("María", "maria"), ("Iñigo", "inigo"), ("Lucía", "lucia"),
        ("Álvaro", "alvaro"), ("Begoña", "begona"), ("Martín", "martin"),
    ],
    family: &[
        ("García", "garcia"), ("Fernández", "fernandez"), ("Núñez", "nunez"), ("Muñoz", "munoz"),
        ("López de Vega", "lopezdevega"), ("Ibáñez", "ibanez"), ("Ortega", "ortega"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static PORTUGUESE: Names = Names {
    given: &[
        ("João", "joao"), ("Ana Luíza", "analuiza"), ("Thiago", "thiago"), ("Conceição", "conceicao"),
        ("Gonçalo", "goncalo"), ("Beatriz", "beatriz"),
    ],
    family: &[
        ("Silva", "silva"), ("Conceição", "conceicao"), ("Gonçalves", "goncalves"),
        ("Araújo", "araujo"), ("dos Santos", "dossantos"), ("Magalhães", "magalhaes"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static POLISH: Names = Names {
    given: &[
        ("Łukasz", "lukasz"), ("Małgorzata", "malgorzata"), ("Paweł", "pawel"), ("Zofia", "zofia"),
        ("Wojciech", "wojciech"), ("Agnieszka", "agnieszka"),
    ],
    family: &[
        ("Wójcik", "wojcik"), ("Kowalczyk", "kowalczyk"), ("Lewandowska", "lewandowska"),
        ("Dąbrowski", "dabrowski"), ("Zieliński", "zielinski"), ("Szymańska", "szymanska"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static TURKISH: Names = Names {
    given: &[
        ("Çağla", "cagla"), ("Şükrü", "sukru"), ("Ayşe", "ayse"), ("Mehmet", "mehmet"),
        ("Gökhan", "gokhan"), ("Işıl", "isil"),
    ],
    family: &[
        ("Yılmaz", "yilmaz"), ("Öztürk", "ozturk"), ("Kaya", "kaya"), ("Demir", "demir"),
        ("Çelik", "celik"), ("Şahin", "sahin"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static RUSSIAN: Names = Names {
    given: &[
        ("Алексей", "aleksei"), ("Мария", "maria"), ("Дмитрий", "dmitry"), ("Екатерина", "ekaterina"),
        ("Сергей", "sergey"), ("Анна-Мария", "annamaria"), ("Фёдор", "fedor"), ("Юлия", "yulia"),
        ("Тест", "test"),
    ],
    family: &[
        ("Иванов", "ivanov"), ("Смирнова", "smirnova"), ("Кузнецов", "kuznetsov"),
        ("Попова", "popova"), ("Соколов-Микитов", "sokolovmikitov"), ("Лебедева", "lebedeva"),
        ("Тестов", "testov"), ("Щербаков", "shcherbakov"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static GREEK: Names = Names {
    given: &[
        ("Γιώργος", "giorgos"), ("Ελένη", "eleni"), ("Δημήτρης", "dimitris"), ("Μαρία", "maria"),
        ("Νίκος", "nikos"), ("Αικατερίνη", "aikaterini"),
    ],
    family: &[
        ("Παπαδόπουλος", "papadopoulos"), ("Οικονόμου", "oikonomou"), ("Γεωργίου", "georgiou"),
        ("Νικολάου", "nikolaou"), ("Βλάχου", "vlachou"), ("Καραγιάννης", "karagiannis"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static HEBREW: Names = Names {
    given: &[
        ("דוד", "david"), ("נועה", "noa"), ("יוסי", "yossi"), ("מיכל", "michal"), ("אורי", "uri"),
        ("תמר", "tamar"), ("אבי", "avi"),
    ],
    family: &[
        ("כהן", "cohen"), ("לוי", "levi"), ("מזרחי", "mizrahi"), ("פרץ", "peretz"),
        ("ביטון", "biton"), ("בן-דוד", "bendavid"), ("אברהם", "avraham"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static ARABIC: Names = Names {
    given: &[
        ("محمد", "mohammed"), ("فاطمة", "fatima"), ("أحمد", "ahmed"), ("ليلى", "layla"),
        ("عمر", "omar"), ("مريم", "maryam"), ("يوسف", "youssef"),
    ],
    family: &[
        ("العلي", "alali"), ("الحسن", "alhassan"), ("المنصوري", "almansoori"), ("خليل", "khalil"),
        ("حداد", "haddad"), ("الشامسي", "alshamsi"),
    ],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static GEORGIAN: Names = Names {
    given: &[("გიორგი", "giorgi"), ("ნინო", "nino"), ("დავით", "davit"), ("თამარ", "tamar")],
    family: &[("ბერიძე", "beridze"), ("კაპანაძე", "kapanadze"), ("გელაშვილი", "gelashvili")],
    family_first: false,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static JAPANESE: Names = Names {
    given: &[("健", "ken"), ("さくら", "sakura"), ("翔太", "shota"), ("美咲", "misaki"), ("ユウキ", "yuki")],
    family: &[("佐藤", "sato"), ("鈴木", "suzuki"), ("高橋", "takahashi"), ("田中", "tanaka"), ("渡辺", "watanabe")],
    family_first: true,
    joiner: " ",
};

#[rustfmt::skip]
pub(crate) static KOREAN: Names = Names {
    given: &[("민준", "minjun"), ("서연", "seoyeon"), ("지훈", "jihoon"), ("하은", "haeun")],
    family: &[("김", "kim"), ("이", "lee"), ("박", "park"), ("최", "choi"), ("정", "jung")],
    family_first: true,
    joiner: "",
};

#[rustfmt::skip]
pub(crate) static CHINESE: Names = Names {
    given: &[("伟", "wei"), ("芳", "fang"), ("秀英", "xiuying"), ("建国", "jianguo"), ("静", "jing")],
    family: &[("王", "wang"), ("李", "li"), ("张", "zhang"), ("刘", "liu"), ("陈", "chen")],
    family_first: true,
    joiner: "",
};
