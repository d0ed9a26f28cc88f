//! `cube signup`, `users …`, `passwd` and `reset-password`.

use super::Invocation;
use crate::cli::{
    FindArgs, GetArgs, PageArgs, PasswordSource, ProfileFields, SearchArgs, SignupArgs, UpdateArgs,
    UsersCommand,
};
use crate::error::{Failure, Result};
use crate::filters::{parse_filter, parse_sort};
use crate::output::{UserList, user_json};
use crate::prompt::{self, Kind};
use crate::session::{Connected, Restore};
use cube_blocking::{NewUser, Paging, SearchUsers, UserSearch, UserUpdate};
use serde_json::json;

pub(super) fn run(ctx: &Invocation, command: UsersCommand) -> Result<()> {
    match command {
        UsersCommand::Get(args) => get(ctx, args),
        UsersCommand::Find(args) => find(ctx, args),
        UsersCommand::Search(args) => search(ctx, args),
        UsersCommand::Update(args) => update(ctx, args),
        UsersCommand::DeleteMe { yes } => delete_me(ctx, yes),
    }
}

/// The profile fields given, on a new user or an update.
macro_rules! apply_fields {
    ($builder:expr, $fields:expr) => {{
        let mut b = $builder;
        let f: ProfileFields = $fields;
        if let Some(v) = f.full_name {
            b = b.full_name(v);
        }
        if let Some(v) = f.phone {
            b = b.phone(v);
        }
        if let Some(v) = f.website {
            b = b.website(v);
        }
        if let Some(v) = f.tags {
            b = b.tags(v);
        }
        if let Some(v) = f.external_id {
            b = b.external_id(v);
        }
        if let Some(v) = f.external_user_id {
            b = b.external_user_id(v);
        }
        if let Some(v) = f.custom_data {
            b = b.custom_data(v);
        }
        b
    }};
}

pub(super) fn signup(ctx: &Invocation, args: SignupArgs) -> Result<()> {
    let password = prompt::passwords(&args.password, &[("Password: ", Kind::New)])?.remove(0);
    let (login, email) = (args.account.login, args.account.email);
    let (user, hint) = match (&login, &email) {
        (Some(login), _) => (
            NewUser::with_login(login, password),
            format!("cube login --login {login}"),
        ),
        (None, Some(email)) => (
            NewUser::with_email(email, password),
            format!("cube login --email {email}"),
        ),
        (None, None) => return Err(Failure::usage("give --login, --email or both")),
    };
    let user = match (&login, email) {
        (Some(_), Some(email)) => user.email(email),
        _ => user,
    };
    let user = apply_fields!(user, args.profile);
    let conn = ctx.connect(Restore::Never)?;
    let created = conn.client.sign_up(user).map_err(|e| conn.failure(e))?;
    if ctx.out.is_json() {
        return ctx.out.document(&user_json(&created));
    }
    let name = created.login.as_ref().or(created.email.as_ref());
    crate::output::Output::line(&format!(
        "Signed up user {} ({}); sign in with `{hint}`",
        created.id,
        name.map_or("?", String::as_str),
    ))
}

fn get(ctx: &Invocation, args: GetArgs) -> Result<()> {
    let conn = ctx.connect(Restore::Ask)?;
    let c = &conn.client;
    let (found, asked) = if let Some(id) = args.id {
        (c.get_user(id), format!("id {id}"))
    } else if let Some(login) = &args.login {
        (c.get_user_by_login(login), format!("login {login:?}"))
    } else if let Some(email) = &args.email {
        (c.get_user_by_email(email), format!("e-mail {email:?}"))
    } else if let Some(external) = &args.external_id {
        (
            c.get_user_by_external_id(external),
            format!("external id {external:?}"),
        )
    } else {
        return Err(Failure::usage(
            "give an id, --login, --email or --external-id",
        ));
    };
    let user = found.map_err(|e| conn.failure(e))?;
    let user = user.ok_or_else(|| Failure::refused(format!("no user with {asked}")))?;
    ctx.out.user(&user)
}

/// Offset, limit and sort, when given.
fn paging(page: &PageArgs) -> Result<Option<Paging>> {
    if page.sort.is_none() && page.limit.is_none() && page.offset.is_none() {
        return Ok(None);
    }
    let mut paging = Paging::new();
    if let Some(sort) = &page.sort {
        let (direction, field) = parse_sort(sort)?;
        paging = paging.sort(direction, field);
    }
    if let Some(limit) = page.limit {
        paging = paging.limit(limit);
    }
    if let Some(offset) = page.offset {
        paging = paging.offset(offset);
    }
    Ok(Some(paging))
}

fn find(ctx: &Invocation, args: FindArgs) -> Result<()> {
    let paging = paging(&args.page)?;
    let conn = ctx.connect(Restore::Ask)?;
    let fail = |e| conn.failure(e);
    let search = if let Some(ids) = args.ids {
        if paging.is_none() {
            // Any number of ids, one request per 100, in the order given.
            let users = conn.client.get_users_by_ids(ids).map_err(fail)?;
            let mut list = UserList::new(ctx.out);
            list.page(&users)?;
            return list.finish(None);
        }
        SearchUsers::by_ids(ids)
    } else if let Some(tags) = args.tags {
        SearchUsers::by_tags(tags)
    } else if let Some(prefix) = &args.full_name {
        SearchUsers::by_full_name(prefix)
    } else if let Some(phone) = &args.phone {
        SearchUsers::by_phone(phone)
    } else {
        return Err(Failure::usage("give --ids, --tags, --full-name or --phone"));
    };
    let mut search = search.map_err(|e| fail(e.into()))?;
    if let Some(paging) = &paging {
        search = search.with_paging(paging).map_err(|e| fail(e.into()))?;
    }
    list(ctx, &conn, search, args.page.all)
}

fn search(ctx: &Invocation, args: SearchArgs) -> Result<()> {
    let mut search = UserSearch::new();
    for text in &args.filters {
        search = search.filter(parse_filter(text)?);
    }
    if let Some(sort) = &args.page.sort {
        let (direction, field) = parse_sort(sort)?;
        search = search.sort(direction, field);
    }
    if let Some(limit) = args.page.limit {
        search = search.limit(limit);
    }
    if let Some(offset) = args.page.offset {
        search = search.offset(offset);
    }
    // The server's rules, checked by the SDK before anything is sent.
    let search = search
        .build()
        .map_err(|e| Failure::usage(format!("the search would be refused: {e}")))?;
    let conn = ctx.connect(Restore::Ask)?;
    list(ctx, &conn, search, args.page.all)
}

/// One page, or with `all` every page, printed as it arrives.
fn list(ctx: &Invocation, conn: &Connected, search: SearchUsers, all: bool) -> Result<()> {
    let mut list = UserList::new(ctx.out);
    if all {
        for page in conn.client.search_users_pages(search) {
            let page = page.map_err(|e| conn.failure(e))?;
            list.page(&page.items)?;
        }
        return list.finish(None);
    }
    let page = conn
        .client
        .search_users(search)
        .map_err(|e| conn.failure(e))?;
    list.page(&page.items)?;
    list.finish(Some((page.skip, page.total_entries)))
}

fn update(ctx: &Invocation, args: UpdateArgs) -> Result<()> {
    let f = &args.profile;
    let any = args.login.is_some()
        || args.email.is_some()
        || f.full_name.is_some()
        || f.phone.is_some()
        || f.website.is_some()
        || f.tags.is_some()
        || f.external_id.is_some()
        || f.external_user_id.is_some()
        || f.custom_data.is_some();
    if !any {
        return Err(Failure::usage(
            "nothing to change: give at least one field (see `cube users update --help`)",
        ));
    }
    let mut update = UserUpdate::new();
    if let Some(login) = args.login {
        update = update.login(login);
    }
    if let Some(email) = args.email {
        update = update.email(email);
    }
    let update = apply_fields!(update, args.profile);
    let conn = ctx.connect(Restore::Ask)?;
    conn.require_user()?;
    let user = conn
        .client
        .update_user(update)
        .map_err(|e| conn.failure(e))?;
    ctx.out.user(&user)
}

fn delete_me(ctx: &Invocation, yes: bool) -> Result<()> {
    let conn = ctx.connect(Restore::Ask)?;
    let id = conn.require_user()?;
    if !yes {
        if !prompt::interactive() {
            return Err(Failure::usage(
                "not deleted: there is no terminal to confirm on, and deleting the user \
                 cannot be undone; pass --yes to delete without asking",
            ));
        }
        let who = conn
            .identity()
            .map_or(format!("user {id}"), |i| format!("user {id} ({i})"));
        if !prompt::confirm(&format!(
            "Delete {who} and everything it owns? This cannot be undone."
        ))? {
            return Err(Failure::refused("not deleted: the answer was not yes"));
        }
    }
    conn.client
        .delete_current_user()
        .map_err(|e| conn.failure(e))?;
    conn.client.forget_session();
    conn.set_identity(None);
    ctx.out.result(
        json!({"profile": conn.profile(), "deleted_user_id": id}),
        &format!(
            "Deleted user {id}; profile '{}' has no session now",
            conn.profile()
        ),
    )
}

pub(super) fn passwd(ctx: &Invocation, source: &PasswordSource) -> Result<()> {
    let conn = ctx.connect(Restore::Ask)?;
    let id = conn.require_user()?;
    let mut passwords = prompt::passwords(
        source,
        &[
            ("Current password: ", Kind::Current),
            ("New password: ", Kind::New),
        ],
    )?;
    let new = passwords.pop().unwrap_or_default();
    let old = passwords.pop().unwrap_or_default();
    conn.client
        .change_password(old, new)
        .map_err(|e| conn.failure(e))?;
    ctx.out.result(
        json!({"profile": conn.profile(), "user_id": id, "password_changed": true}),
        &format!("Changed the password of user {id}"),
    )
}

pub(super) fn reset_password(ctx: &Invocation, email: &str) -> Result<()> {
    let conn = ctx.connect(Restore::Ask)?;
    conn.client
        .reset_password(email)
        .map_err(|e| conn.failure(e))?;
    ctx.out.result(
        json!({"email": email, "reset_requested": true}),
        &format!("Asked the server to e-mail a password-reset link to {email}"),
    )
}
