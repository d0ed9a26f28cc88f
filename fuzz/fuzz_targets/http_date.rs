//! Any text as `Date`: never panics, only an IMF-fixdate (29 characters
//! once the spaces around it are gone) parses, and a parsed date formats
//! back to a header that parses to the same moment.
#![no_main]

use cube_proto::server_time::parse_http_date;
use libfuzzer_sys::fuzz_target;
use time::macros::format_description;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Some(at) = parse_http_date(text) {
        assert_eq!(text.trim_matches([' ', '\t']).len(), 29, "{text:?}");
        let imf_fixdate = format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        let again = at.format(imf_fixdate).expect("a parsed date formats");
        assert_eq!(parse_http_date(&again), Some(at), "{again}");
    }
});
