//! Plausible values for `--data realistic`: what a property's name and format say it holds
//! (`firstName` a first name, `email` an address, `createdAt` a moment in the past, `price` an
//! amount), drawn from a seeded generator with the `fake` crate's English data. This module only
//! proposes; the generator in `super` keeps a proposal only when it meets every constraint of the
//! schema, and builds a constraint-driven value otherwise.

use fake::Fake;
use fake::faker::{address, company, currency, finance, job, lorem, name, phone_number};
use rand::RngExt;
use rand::rngs::StdRng;

/// What a value is, as its property name (or its format) says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    FirstName,
    LastName,
    FullName,
    Username,
    Email,
    Phone,
    Street,
    SecondaryAddress,
    City,
    State,
    Country,
    CountryCode,
    Postcode,
    Company,
    JobTitle,
    Url,
    ImageUrl,
    Domain,
    Ipv4,
    Ipv6,
    Iban,
    Bic,
    Currency,
    Locale,
    TimeZone,
    Color,
    Uuid,
    Slug,
    /// One lower-case word: `tags`, `keyword`.
    Word,
    /// A few capitalised words: `title`, `subject`, or the name of something that is no person.
    Title,
    /// One sentence: `summary`, `caption`.
    Sentence,
    /// One to three sentences: `description`, `bio`, `notes`.
    Paragraph,
    DateTime(When),
    Date(When),
    Time,
    Birthdate,
    Age,
    Year,
    Amount,
    Quantity,
    Rating,
    Percent,
    Latitude,
    Longitude,
}

/// Where a moment lies: `createdAt` in the past, `expiresAt` in the future, others around now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum When {
    Past,
    Future,
    Near,
}

const DAY: i64 = 86_400;

/// The kind of a string value named `name` (inside an object whose schema is named `parent`)
/// with `format`; None: nothing plausible is known, the caller writes words.
pub(super) fn string_kind(name: Option<&str>, parent: Option<&str>, format: Option<&str>) -> Option<Kind> {
    let words = name.map(split).unwrap_or_default();
    let when = || when(&words);
    match format {
        Some("date-time") => return Some(Kind::DateTime(when())),
        Some("date") if is_birth(&words) => return Some(Kind::Birthdate),
        Some("date") => return Some(Kind::Date(when())),
        Some("time") => return Some(Kind::Time),
        Some("email" | "idn-email") => return Some(Kind::Email),
        Some("uuid") => return Some(Kind::Uuid),
        Some("hostname" | "idn-hostname") => return Some(Kind::Domain),
        Some("ipv4") => return Some(Kind::Ipv4),
        Some("ipv6") => return Some(Kind::Ipv6),
        Some("uri" | "url" | "iri") if has_any(&words, &IMAGE) => return Some(Kind::ImageUrl),
        Some("uri" | "url" | "iri") => return Some(Kind::Url),
        Some("iban") => return Some(Kind::Iban),
        Some("bic") => return Some(Kind::Bic),
        Some("phone" | "tel" | "phone-number") => return Some(Kind::Phone),
        Some("country-code") => return Some(Kind::CountryCode),
        Some("currency" | "currency-code" | "iso-4217") => return Some(Kind::Currency),
        _ => {}
    }
    let (last, prev) = last_two(&words)?;
    let kind = match (prev, last) {
        (_, "email" | "mail") => Kind::Email,
        (_, "phone" | "mobile" | "cell" | "telephone" | "tel" | "fax" | "msisdn") => Kind::Phone,
        (Some("phone" | "mobile" | "cell" | "fax" | "telephone"), "number" | "no") => Kind::Phone,
        (Some("first" | "given" | "middle"), "name") | (_, "firstname" | "forename" | "givenname") => Kind::FirstName,
        (Some("last" | "family" | "sur"), "name") | (_, "lastname" | "surname" | "familyname") => Kind::LastName,
        (Some("user" | "screen" | "nick" | "login"), "name") | (_, "username" | "login" | "handle" | "nickname" | "screenname") => {
            Kind::Username
        }
        (Some(p), "name") if PERSON.contains(&p) => Kind::FullName,
        (_, "fullname" | "displayname") => Kind::FullName,
        (Some(p), "name") if ORGANISATION.contains(&p) => Kind::Company,
        (Some("city" | "town"), "name") => Kind::City,
        (Some("country"), "name") => Kind::Country,
        (Some("street"), "name") => Kind::Street,
        (Some("state" | "province" | "region"), "name") => Kind::State,
        // A bare `name` is a person's, unless the object it names is something else.
        (None, "name") => match parent.map(split) {
            None => Kind::FullName,
            Some(p) if has_any(&p, &ORGANISATION) => Kind::Company,
            Some(p) if has_any(&p, &ANIMAL) => Kind::FirstName,
            Some(p) if has_any(&p, &PERSON_OBJECT) => Kind::FullName,
            Some(_) => Kind::Title,
        },
        // `projectName`, `runName`: the name of a thing, not of a person.
        (Some(_), "name") => Kind::Title,
        (_, p) if ORGANISATION.contains(&p) => Kind::Company,
        (Some("job"), "title") | (_, "occupation" | "profession" | "jobtitle") => Kind::JobTitle,
        (Some("address" | "street"), "line" | "line1" | "1") | (_, "street" | "line1" | "address1" | "streetaddress") => Kind::Street,
        (Some("address"), "line2" | "2") | (_, "line2" | "address2") => Kind::SecondaryAddress,
        (Some(p), "address") if matches!(p, "ip" | "mac" | "email" | "web" | "wallet" | "contract") => match p {
            "ip" => Kind::Ipv4,
            "email" => Kind::Email,
            "web" => Kind::Url,
            _ => return None,
        },
        (_, "address") => Kind::Street,
        (_, "city" | "town" | "locality") => Kind::City,
        (_, "state" | "province" | "county") => Kind::State,
        (Some("country"), "code" | "iso" | "iso2" | "alpha2") => Kind::CountryCode,
        (_, "country") => Kind::Country,
        (_, "zip" | "zipcode" | "postcode" | "postalcode") | (Some("postal" | "zip" | "post"), "code") => Kind::Postcode,
        (Some("ip"), _) | (_, "ip" | "ipv4") => Kind::Ipv4,
        (_, "ipv6") => Kind::Ipv6,
        (_, p) if IMAGE.contains(&p) => Kind::ImageUrl,
        (Some(p), "url" | "uri" | "link" | "href") if IMAGE.contains(&p) => Kind::ImageUrl,
        (_, "url" | "uri" | "link" | "href" | "website" | "homepage") => Kind::Url,
        (_, "domain" | "hostname" | "host") => Kind::Domain,
        (_, "iban") => Kind::Iban,
        (_, "bic" | "swift") => Kind::Bic,
        (_, "currency") | (Some("currency"), "code") => Kind::Currency,
        (_, "locale" | "language" | "lang") => Kind::Locale,
        (_, "timezone" | "tz") | (Some("time"), "zone") => Kind::TimeZone,
        (_, "color" | "colour") => Kind::Color,
        (_, "id" | "ids" | "uuid" | "guid") => Kind::Uuid,
        (_, "tag" | "keyword" | "category" | "topic") => Kind::Word,
        (_, "slug") => Kind::Slug,
        (_, "title" | "subject" | "headline" | "label") => Kind::Title,
        (_, "summary" | "caption" | "tagline" | "excerpt") => Kind::Sentence,
        (_, "description" | "bio" | "about" | "comment" | "note" | "notes" | "message" | "body" | "text" | "content" | "details") => {
            Kind::Paragraph
        }
        (Some("birth"), "date" | "day") | (_, "birthday" | "birthdate" | "dob") => Kind::Birthdate,
        (_, "date" | "day" | "on") => Kind::Date(when()),
        (_, "at" | "time" | "timestamp" | "datetime") => Kind::DateTime(when()),
        _ => return None,
    };
    Some(kind)
}

/// The kind of a number named `name`; None: the generator's own number.
pub(super) fn number_kind(name: Option<&str>) -> Option<Kind> {
    let words = name.map(split).unwrap_or_default();
    let (last, prev) = last_two(&words)?;
    Some(match (prev, last) {
        (_, "age") => Kind::Age,
        (_, "year") => Kind::Year,
        (_, "price" | "amount" | "cost" | "total" | "subtotal" | "balance" | "fee" | "tax" | "salary" | "revenue") => Kind::Amount,
        (_, "quantity" | "qty" | "count" | "stock") => Kind::Quantity,
        (_, "rating" | "stars" | "score") => Kind::Rating,
        (_, "percent" | "percentage" | "pct") => Kind::Percent,
        (_, "latitude" | "lat") => Kind::Latitude,
        (_, "longitude" | "lng" | "lon" | "long") => Kind::Longitude,
        _ => return None,
    })
}

/// A value of `kind` as text, around the moment `now` (Unix seconds).
pub(super) fn string(kind: Kind, rng: &mut StdRng, now: i64) -> Option<String> {
    Some(match kind {
        Kind::FirstName => name::en::FirstName().fake_with_rng(rng),
        Kind::LastName => name::en::LastName().fake_with_rng(rng),
        Kind::FullName => name::en::Name().fake_with_rng(rng),
        Kind::Username => {
            let first: String = name::en::FirstName().fake_with_rng(rng);
            let last: String = name::en::LastName().fake_with_rng(rng);
            let initial: String = last.chars().take(1).collect();
            format!("{}{}{}", ascii_lower(&first), ascii_lower(&initial), rng.random_range(1..100))
        }
        Kind::Email => {
            let first: String = name::en::FirstName().fake_with_rng(rng);
            let last: String = name::en::LastName().fake_with_rng(rng);
            let tld = ["com", "org", "net"][rng.random_range(0..3)];
            format!("{}.{}@example.{tld}", ascii_lower(&first), ascii_lower(&last))
        }
        Kind::Phone => phone_number::en::CellNumber().fake_with_rng(rng),
        Kind::Street => {
            let number: String = address::en::BuildingNumber().fake_with_rng(rng);
            let street: String = address::en::StreetName().fake_with_rng(rng);
            format!("{number} {street}")
        }
        Kind::SecondaryAddress => address::en::SecondaryAddress().fake_with_rng(rng),
        Kind::City => address::en::CityName().fake_with_rng(rng),
        Kind::State => address::en::StateName().fake_with_rng(rng),
        Kind::Country => address::en::CountryName().fake_with_rng(rng),
        Kind::CountryCode => address::en::CountryCode().fake_with_rng(rng),
        Kind::Postcode => address::en::PostCode().fake_with_rng(rng),
        Kind::Company => company::en::CompanyName().fake_with_rng(rng),
        Kind::JobTitle => job::en::Title().fake_with_rng(rng),
        Kind::Url => format!("https://{}/{}", domain(rng), ascii_lower(&word(rng))),
        Kind::ImageUrl => format!("https://images.example.com/{}-{}.jpg", ascii_lower(&word(rng)), rng.random_range(100..1000)),
        Kind::Domain => domain(rng),
        Kind::Ipv4 => {
            // 203.0.113.0/24 and 198.51.100.0/24 are for documentation (RFC 5737): no real host.
            let net = ["203.0.113", "198.51.100"][rng.random_range(0..2)];
            format!("{net}.{}", rng.random_range(1..255))
        }
        Kind::Ipv6 => format!("2001:db8::{:x}:{:x}", rng.random_range(1..0xffffu32), rng.random_range(1..0xffffu32)),
        Kind::Iban => iban(rng),
        Kind::Bic => finance::en::Bic().fake_with_rng(rng),
        Kind::Currency => currency::en::CurrencyCode().fake_with_rng(rng),
        Kind::Locale => {
            ["en-US", "en-GB", "fr-FR", "de-DE", "es-ES", "it-IT", "nl-NL", "pt-BR", "ja-JP"][rng.random_range(0..9)].to_string()
        }
        Kind::TimeZone => address::en::TimeZone().fake_with_rng(rng),
        Kind::Color => format!("#{:06x}", rng.random_range(0..0x0100_0000u32)),
        Kind::Uuid => uuid::Builder::from_random_bytes(rng.random()).into_uuid().to_string(),
        Kind::Slug => {
            let words: Vec<String> = lorem::en::Words(2..4).fake_with_rng(rng);
            words.iter().map(|w| ascii_lower(w)).collect::<Vec<_>>().join("-")
        }
        Kind::Word => ascii_lower(&word(rng)),
        Kind::Title => {
            let words: Vec<String> = lorem::en::Words(2..5).fake_with_rng(rng);
            capitalise(&words.join(" "))
        }
        Kind::Sentence => capitalise(&lorem::en::Sentence(4..10).fake_with_rng::<String, _>(rng)),
        Kind::Paragraph => {
            let sentences: Vec<String> = lorem::en::Sentences(1..4).fake_with_rng(rng);
            sentences.iter().map(|s| capitalise(s)).collect::<Vec<_>>().join(" ")
        }
        Kind::DateTime(when) => {
            let at = moment(when, rng, now);
            let at = time::OffsetDateTime::from_unix_timestamp(at).ok()?;
            format!("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", at.year(), at.month() as u8, at.day(), at.hour(), at.minute(), at.second())
        }
        Kind::Date(when) => date(moment(when, rng, now))?,
        Kind::Birthdate => date(now - rng.random_range(18 * 365..80 * 365) * DAY)?,
        Kind::Time => format!("{:02}:{:02}:00Z", rng.random_range(0..24), rng.random_range(0..60)),
        Kind::Age | Kind::Year | Kind::Amount | Kind::Quantity | Kind::Rating | Kind::Percent | Kind::Latitude | Kind::Longitude => {
            return None;
        }
    })
}

/// A whole number of `kind`, around the year of `now`.
pub(super) fn integer(kind: Kind, rng: &mut StdRng, now: i64) -> Option<i64> {
    Some(match kind {
        Kind::Age => rng.random_range(18..=90),
        Kind::Year => {
            let year = time::OffsetDateTime::from_unix_timestamp(now).map(|t| t.year()).unwrap_or(2026) as i64;
            rng.random_range(year - 10..=year)
        }
        Kind::Amount => rng.random_range(1..=9999),
        Kind::Quantity => rng.random_range(1..=20),
        Kind::Rating => rng.random_range(1..=5),
        Kind::Percent => rng.random_range(0..=100),
        Kind::Latitude => rng.random_range(-90..=90),
        Kind::Longitude => rng.random_range(-180..=180),
        _ => return None,
    })
}

/// A number of `kind`, rounded as such numbers are written (amounts to cents).
pub(super) fn number(kind: Kind, rng: &mut StdRng, now: i64) -> Option<f64> {
    let round = |x: f64, places: i32| (x * 10f64.powi(places)).round() / 10f64.powi(places);
    Some(match kind {
        Kind::Amount => round(rng.random_range(1.0..1000.0), 2),
        Kind::Rating => round(rng.random_range(1.0..=5.0), 1),
        Kind::Percent => round(rng.random_range(0.0..=100.0), 1),
        Kind::Latitude => round(rng.random_range(-90.0..=90.0), 6),
        Kind::Longitude => round(rng.random_range(-180.0..=180.0), 6),
        other => integer(other, rng, now)? as f64,
    })
}

/// Text for a string nothing describes: one to three lorem words, more up to `min` characters.
pub(super) fn words(rng: &mut StdRng, min: usize) -> String {
    let words: Vec<String> = lorem::en::Words(1..4).fake_with_rng(rng);
    let mut text = words.join(" ");
    while text.chars().count() < min {
        text.push(' ');
        text.push_str(&word(rng));
    }
    text
}

const PERSON: [&str; 26] = [
    "full",
    "display",
    "contact",
    "customer",
    "owner",
    "author",
    "person",
    "employee",
    "member",
    "recipient",
    "sender",
    "holder",
    "cardholder",
    "manager",
    "assignee",
    "reporter",
    "creator",
    "buyer",
    "seller",
    "patient",
    "student",
    "teacher",
    "legal",
    "account",
    "beneficiary",
    "emergency",
];
const ORGANISATION: [&str; 14] = [
    "company",
    "organization",
    "organisation",
    "org",
    "business",
    "vendor",
    "merchant",
    "employer",
    "firm",
    "supplier",
    "publisher",
    "brand",
    "tenant",
    "agency",
];
/// Objects whose `name` is a person's.
const PERSON_OBJECT: [&str; 30] = [
    "user",
    "person",
    "people",
    "customer",
    "contact",
    "employee",
    "member",
    "owner",
    "author",
    "profile",
    "individual",
    "student",
    "patient",
    "staff",
    "agent",
    "candidate",
    "driver",
    "passenger",
    "guest",
    "recipient",
    "sender",
    "admin",
    "human",
    "friend",
    "buyer",
    "seller",
    "subscriber",
    "participant",
    "attendee",
    "respondent",
];
const ANIMAL: [&str; 6] = ["pet", "dog", "cat", "animal", "horse", "bird"];
const IMAGE: [&str; 8] = ["avatar", "image", "photo", "picture", "logo", "icon", "thumbnail", "img"];
const PAST: [&str; 34] = [
    "created",
    "creation",
    "updated",
    "modified",
    "changed",
    "deleted",
    "removed",
    "published",
    "posted",
    "registered",
    "joined",
    "last",
    "received",
    "sent",
    "submitted",
    "completed",
    "finished",
    "uploaded",
    "imported",
    "archived",
    "cancelled",
    "canceled",
    "approved",
    "verified",
    "confirmed",
    "paid",
    "issued",
    "occurred",
    "seen",
    "logged",
    "signed",
    "born",
    "birth",
    "processed",
];
const FUTURE: [&str; 14] = [
    "expires",
    "expiry",
    "expire",
    "expiration",
    "expiring",
    "due",
    "deadline",
    "until",
    "renews",
    "renewal",
    "next",
    "scheduled",
    "upcoming",
    "ends",
];

/// A name's words, lower case: `firstName`, `first_name`, `First-Name` and `URLPath` give
/// `[first, name]` and `[url, path]`; letters and digits part (`line1` → `[line, 1]`).
fn split(name: &str) -> Vec<String> {
    let chars: Vec<char> = name.chars().collect();
    let mut out: Vec<String> = Vec::new();
    let mut current = String::new();
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
            }
            continue;
        }
        let prev = i.checked_sub(1).map(|j| chars[j]);
        let next = chars.get(i + 1).copied();
        let boundary = match prev {
            Some(p) if !current.is_empty() => {
                (p.is_lowercase() && c.is_uppercase())
                    || (p.is_uppercase() && c.is_uppercase() && next.is_some_and(char::is_lowercase))
                    || (p.is_alphabetic() && c.is_ascii_digit())
                    || (p.is_ascii_digit() && c.is_alphabetic())
            }
            _ => false,
        };
        if boundary {
            out.push(std::mem::take(&mut current));
        }
        current.extend(c.to_lowercase());
    }
    if !current.is_empty() {
        out.push(current);
    }
    // `line1` reads as one word where the tables list it so.
    if let [.., a, b] = out.as_slice()
        && b.chars().all(|c| c.is_ascii_digit())
        && matches!(a.as_str(), "line" | "address")
    {
        let joined = format!("{a}{b}");
        out.truncate(out.len() - 2);
        out.push(joined);
    }
    out
}

/// The last word (singular) and the one before it.
fn last_two(words: &[String]) -> Option<(&str, Option<&str>)> {
    let last = words.last()?;
    let prev = words.len().checked_sub(2).map(|i| words[i].as_str());
    Some((singular(last), prev))
}

fn singular(w: &str) -> &str {
    match w.strip_suffix('s') {
        // `address` and `class` keep their `s`.
        Some(stem) if stem.len() >= 3 && !stem.ends_with('s') => stem,
        _ => w,
    }
}

fn has_any(words: &[String], list: &[&str]) -> bool {
    words.iter().any(|w| list.contains(&singular(w)) || list.contains(&w.as_str()))
}

fn is_birth(words: &[String]) -> bool {
    has_any(words, &["birth", "birthday", "birthdate", "dob", "born"])
}

fn when(words: &[String]) -> When {
    if has_any(words, &FUTURE) {
        When::Future
    } else if has_any(words, &PAST) {
        When::Past
    } else {
        When::Near
    }
}

/// A moment: up to two years before `now`, up to one year after, or within a year of it.
fn moment(when: When, rng: &mut StdRng, now: i64) -> i64 {
    match when {
        When::Past => now - rng.random_range(3_600..2 * 365 * DAY),
        When::Future => now + rng.random_range(3_600..365 * DAY),
        When::Near => now + rng.random_range(-365 * DAY..365 * DAY),
    }
}

fn date(at: i64) -> Option<String> {
    let at = time::OffsetDateTime::from_unix_timestamp(at).ok()?;
    Some(format!("{:04}-{:02}-{:02}", at.year(), at.month() as u8, at.day()))
}

fn word(rng: &mut StdRng) -> String {
    lorem::en::Word().fake_with_rng(rng)
}

/// A host under a reserved example domain (RFC 2606), named like a company.
fn domain(rng: &mut StdRng) -> String {
    let last: String = name::en::LastName().fake_with_rng(rng);
    let tld = ["com", "org", "net"][rng.random_range(0..3)];
    format!("{}.example.{tld}", ascii_lower(&last))
}

fn ascii_lower(s: &str) -> String {
    s.chars().filter(char::is_ascii_alphanumeric).map(|c| c.to_ascii_lowercase()).collect()
}

fn capitalise(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// An IBAN with valid check digits (ISO 13616, mod 97) for a German, British or Dutch account.
fn iban(rng: &mut StdRng) -> String {
    let digits = |rng: &mut StdRng, n: usize| (0..n).map(|_| char::from(b'0' + rng.random_range(0..10u8))).collect::<String>();
    let letters = |rng: &mut StdRng, n: usize| (0..n).map(|_| char::from(b'A' + rng.random_range(0..26u8))).collect::<String>();
    let (country, bban) = match rng.random_range(0..3) {
        0 => ("DE", digits(rng, 18)),
        1 => ("GB", format!("{}{}", letters(rng, 4), digits(rng, 14))),
        _ => ("NL", format!("{}{}", letters(rng, 4), digits(rng, 10))),
    };
    let rearranged = format!("{bban}{country}00");
    let remainder = rearranged.chars().fold(0u32, |acc, c| {
        let v = c.to_digit(36).unwrap_or(0);
        if v >= 10 { (acc * 100 + v) % 97 } else { (acc * 10 + v) % 97 }
    });
    format!("{country}{:02}{bban}", 98 - remainder)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn names_split_into_words_whatever_their_case() {
        assert_eq!(split("firstName"), ["first", "name"]);
        assert_eq!(split("last_name"), ["last", "name"]);
        assert_eq!(split("URLPath"), ["url", "path"]);
        assert_eq!(split("addressLine1"), ["address", "line1"]);
        assert_eq!(split("created-at"), ["created", "at"]);
    }

    #[test]
    fn property_names_say_what_they_hold() {
        let kind = |n: &str| string_kind(Some(n), None, None);
        assert_eq!(kind("firstName"), Some(Kind::FirstName));
        assert_eq!(kind("last_name"), Some(Kind::LastName));
        assert_eq!(kind("name"), Some(Kind::FullName));
        assert_eq!(kind("contactEmail"), Some(Kind::Email));
        assert_eq!(kind("emails"), Some(Kind::Email));
        assert_eq!(kind("phoneNumber"), Some(Kind::Phone));
        assert_eq!(kind("zipCode"), Some(Kind::Postcode));
        assert_eq!(kind("postal_code"), Some(Kind::Postcode));
        assert_eq!(kind("companyName"), Some(Kind::Company));
        assert_eq!(kind("projectName"), Some(Kind::Title));
        assert_eq!(kind("createdAt"), Some(Kind::DateTime(When::Past)));
        assert_eq!(kind("description"), Some(Kind::Paragraph));
        assert_eq!(kind("status"), None);
        assert_eq!(string_kind(Some("name"), Some("Organization"), None), Some(Kind::Company));
        assert_eq!(string_kind(Some("name"), Some("UserProfile"), None), Some(Kind::FullName));
        assert_eq!(string_kind(Some("name"), Some("Pet"), None), Some(Kind::FirstName));
        assert_eq!(string_kind(Some("name"), Some("MetadataKey"), None), Some(Kind::Title));
        assert_eq!(kind("assetIds"), Some(Kind::Uuid));
        assert_eq!(kind("tags"), Some(Kind::Word));
        assert_eq!(string_kind(Some("expires_at"), None, Some("date-time")), Some(Kind::DateTime(When::Future)));
        assert_eq!(string_kind(Some("dueDate"), None, Some("date")), Some(Kind::Date(When::Future)));
        assert_eq!(string_kind(Some("anything"), None, Some("email")), Some(Kind::Email));
        assert_eq!(number_kind(Some("unitPrice")), Some(Kind::Amount));
        assert_eq!(number_kind(Some("id")), None);
    }

    #[test]
    fn ibans_carry_valid_check_digits() {
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..50 {
            let iban = iban(&mut rng);
            // Valid when the rearranged number leaves 1 modulo 97.
            let rearranged = format!("{}{}", &iban[4..], &iban[..4]);
            let r = rearranged.chars().fold(0u32, |acc, c| {
                let v = c.to_digit(36).unwrap();
                if v >= 10 { (acc * 100 + v) % 97 } else { (acc * 10 + v) % 97 }
            });
            assert_eq!(r, 1, "{iban}");
        }
    }

    #[test]
    fn moments_fall_on_the_side_their_name_says() {
        let mut rng = StdRng::seed_from_u64(7);
        let now = 1_800_000_000;
        for _ in 0..100 {
            assert!(moment(When::Past, &mut rng, now) < now);
            assert!(moment(When::Future, &mut rng, now) > now);
            assert!((moment(When::Near, &mut rng, now) - now).abs() <= 365 * DAY);
        }
    }
}
