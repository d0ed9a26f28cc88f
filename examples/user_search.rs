//! Finding users: single look-ups, many users by ids, a full-name prefix as
//! the Flutter SDK searches it, paged look-ups, the typed v2 search with
//! filters, sort and pagination, and what the builder refuses before
//! anything is sent.

use cube_blocking::{Field, NewUser, Paging, UserSearch};
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
        "look 250 users up by ids: one request per 100, in the order asked",
    );
    for i in 5..250 {
        let user = NewUser::with_login(format!("{prefix}{i}"), "search-password");
        ids.push(client.sign_up(user)?.id);
    }
    let mut asked = ids.clone();
    asked.reverse();
    let users = client.get_users_by_ids(asked.clone())?;
    let in_order = users.iter().map(|u| u.id).eq(asked.iter().copied());
    println!(
        "    asked {}, found {}, in the order asked: {in_order}",
        asked.len(),
        users.len()
    );
    if !in_order {
        return Err("the users came back incomplete or out of order".into());
    }

    step(
        6,
        "find users by a full-name prefix (full_name[start_with], pages of 5)",
    );
    let page = client.find_users_by_full_name("Searcher O")?;
    let names: Vec<&str> = page
        .items
        .iter()
        .filter_map(|u| u.full_name.as_deref())
        .collect();
    println!("    {} match \"Searcher O\": {names:?}", page.total_entries);
    let tagged =
        client.find_users_by_tags_paged(["oslo"], &Paging::page(1, 2).sort_desc(Field::Id))?;
    println!(
        "    tagged oslo, newest two: {:?} of {}",
        tagged.items.iter().map(|u| u.id).collect::<Vec<_>>(),
        tagged.total_entries
    );

    step(
        7,
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
