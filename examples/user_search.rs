//! Finding users: single look-ups, the typed v2 search with filters, sort and
//! pagination, and what the builder refuses before anything is sent.

use cube_blocking::{Field, NewUser, UserSearch};
use cube_examples::{Target, step};
use std::error::Error;

fn main() -> Result<(), Box<dyn Error>> {
    let target = Target::from_env()?;
    let client = target.blocking().build()?;
    let prefix = target.unique("srch");

    step(
        1,
        "sign up five users (no session needed: the auth key is enough)",
    );
    let mut ids = Vec::new();
    for (i, city) in ["Oslo", "Lima", "Oslo", "Pune", "Oslo"].iter().enumerate() {
        let user = NewUser::with_login(format!("{prefix}{i}"), "search-password")
            .full_name(format!("Searcher {city}"))
            .tags([city.to_lowercase()]);
        ids.push(client.sign_up(user)?.id);
    }
    println!("    ids {ids:?}");

    step(2, "single look-ups answer Some or None");
    let first = client
        .get_user_by_login(&format!("{prefix}0"))?
        .ok_or("missing")?;
    println!(
        "    by login: {}; a login nobody has: {:?}",
        first.id,
        client
            .get_user_by_login(&format!("{prefix}x"))?
            .map(|u| u.id)
    );

    step(
        3,
        "a v2 search: logins starting with the prefix, not tagged lima, newest first",
    );
    let search = UserSearch::new()
        .start_with(Field::Login, &prefix)
        .none_of(Field::UserTags, ["lima"])
        .sort_desc(Field::Id)
        .build()?;
    let page = client.search_users(search)?;
    let found: Vec<u64> = page.items.iter().map(|u| u.id).collect();
    println!("    {} found: {found:?}", page.total_entries);

    step(4, "page through users tagged oslo, two at a time");
    let oslo = UserSearch::new()
        .any_of(Field::UserTags, ["oslo"])
        .sort_asc(Field::Id)
        .limit(2)
        .build()?;
    for (n, page) in client.search_users_pages(oslo).enumerate() {
        let page = page?;
        println!(
            "    page {}: {:?}",
            n + 1,
            page.items.iter().map(|u| u.id).collect::<Vec<_>>()
        );
    }

    step(
        5,
        "searches the server would reject are refused before sending",
    );
    let refused = UserSearch::new()
        .gt(Field::CreatedAt, time::OffsetDateTime::now_utc())
        .build();
    println!(
        "    dates alone: {}",
        refused.map(|_| "accepted").unwrap_err()
    );
    let refused = UserSearch::new().start_with(Field::Login, "abc").build();
    println!(
        "    a three-letter prefix: {}",
        refused.map(|_| "accepted").unwrap_err()
    );

    println!("user_search finished");
    Ok(())
}
