//! login, logout, whoami and contexts.

use serde::Serialize;

use super::{
    App,
    cli::{ContextCommand, LoginArgs},
    config::{self, Context},
    error::{Error, Result},
    ops::{CurrentUser, current_user},
    output::{Cell, Style, Table, fields},
    prompt,
    session::{self, Session},
};
use goalert_client::Secret;

#[derive(Debug, Serialize)]
pub struct Identity {
    pub context: String,
    pub url: String,
    pub id: String,
    pub name: String,
    pub email: String,
    pub role: String,
}

pub async fn login(app: &App, args: LoginArgs) -> Result<()> {
    let mut config = app.store.load()?;
    let chosen = app.global.context.clone();
    let (name, url) = match &args.url {
        Some(raw) => {
            let url = session::parse_url(raw)?;
            (chosen.unwrap_or_else(|| config::default_context_name(&url)), url)
        }
        None => {
            let name = chosen
                .or_else(|| config.current_context.clone())
                .ok_or_else(|| Error::Usage("--url is required for the first login".into()))?;
            let context = config
                .contexts
                .get(&name)
                .ok_or_else(|| Error::Usage(format!("no context {name:?} yet: pass --url to create it")))?;
            let url = session::parse_url(&context.url)?;
            (name, url)
        }
    };
    config::validate_context_name(&name)?;
    let known_username = config
        .contexts
        .get(&name)
        .filter(|c| c.url == url.as_str())
        .map(|c| c.username.clone());
    let username = match args.username.or(known_username) {
        Some(username) => username,
        None => prompt::ask("Username: ")?,
    };
    let password = read_password(args.password_stdin)?;

    let token = session::login(&url, &username, password).await?;
    let session = Session::new(&name, url.clone(), token.clone())?;
    let identity = identify(&session).await?;
    app.store.save_token(&name, &token)?;
    config.contexts.insert(
        name.clone(),
        Context {
            url: url.to_string(),
            username,
        },
    );
    config.current_context = Some(name);
    app.store.save(&config)?;
    app.out.print(&identity, |id, _| {
        format!(
            "Logged in to {} as {} (context {:?}).\n",
            id.url, id.name, id.context
        )
    })
}

fn read_password(from_stdin: bool) -> Result<Secret> {
    if let Some(password) = std::env::var("GCTL_PASSWORD").ok().filter(|p| !p.is_empty()) {
        return Ok(Secret::new(password));
    }
    let password = if from_stdin {
        Secret::new(prompt::read_line()?)
    } else {
        prompt::password("Password: ")?
    };
    if password.expose().is_empty() {
        return Err(Error::Usage(if from_stdin {
            "--password-stdin read an empty password (is the first line of stdin empty?)".into()
        } else {
            "the password is empty".into()
        }));
    }
    Ok(password)
}

pub async fn logout(app: &App) -> Result<()> {
    let session = match app.session().await {
        // GoAlert already ended it; all that is left is forgetting the token.
        Err(Error::SessionExpired { context, .. }) => return forget(app, &context),
        other => other?,
    };
    match session.logout().await {
        Ok(()) | Err(Error::SessionExpired { .. }) => forget(app, &session.context),
        Err(e) => Err(e),
    }
}

fn forget(app: &App, context: &str) -> Result<()> {
    app.store.delete_token(context)?;
    let result = serde_json::json!({ "context": context, "loggedOut": true });
    app.out
        .print(&result, |_, _| format!("Logged out of context {context:?}.\n"))
}

pub async fn whoami(app: &App) -> Result<()> {
    let session = app.session().await?;
    let identity = identify(&session).await?;
    app.out.print(&identity, |id, _| {
        fields(&[
            ("Context", id.context.clone()),
            ("URL", id.url.clone()),
            ("User", id.name.clone()),
            ("Email", id.email.clone()),
            ("Role", id.role.clone()),
            ("ID", id.id.clone()),
        ])
    })
}

async fn identify(session: &Session) -> Result<Identity> {
    let data = session.run::<CurrentUser>(current_user::Variables {}).await?;
    let user = data.user.ok_or_else(|| Error::SessionExpired {
        context: session.context.clone(),
        url: session.url.to_string(),
    })?;
    Ok(Identity {
        context: session.context.clone(),
        url: session.url.to_string(),
        id: user.id,
        name: user.name,
        email: user.email,
        role: format!("{:?}", user.role),
    })
}

#[derive(Debug, Serialize)]
struct ContextRow {
    name: String,
    current: bool,
    url: String,
    username: String,
    #[serde(rename = "loggedIn")]
    logged_in: bool,
}

pub fn context(app: &App, command: ContextCommand) -> Result<()> {
    let mut config = app.store.load()?;
    match command {
        ContextCommand::List => {
            let rows = config
                .contexts
                .iter()
                .map(|(name, context)| {
                    Ok(ContextRow {
                        name: name.clone(),
                        current: config.current_context.as_deref() == Some(name),
                        url: context.url.clone(),
                        username: context.username.clone(),
                        logged_in: app.store.token(name)?.is_some(),
                    })
                })
                .collect::<Result<Vec<_>>>()?;
            app.out.print(&rows, |rows, paint| {
                let mut table = Table::new(&["CURRENT", "NAME", "URL", "USER", "SESSION"]);
                for row in rows {
                    let session = if row.logged_in {
                        Cell::styled("logged in", Some(Style::Green))
                    } else {
                        Cell::styled("logged out", Some(Style::Dim))
                    };
                    let current = if row.current { "*" } else { "" };
                    table.row(vec![
                        current.into(),
                        row.name.clone().into(),
                        row.url.clone().into(),
                        row.username.clone().into(),
                        session,
                    ]);
                }
                table.render(paint)
            })
        }
        ContextCommand::Use { name } => {
            if !config.contexts.contains_key(&name) {
                return Err(Error::NotFound {
                    what: format!("context {name:?}"),
                });
            }
            config.current_context = Some(name.clone());
            app.store.save(&config)?;
            eprintln!("Switched to context {name:?}.");
            Ok(())
        }
        ContextCommand::Delete { name } => {
            if config.contexts.remove(&name).is_none() {
                return Err(Error::NotFound {
                    what: format!("context {name:?}"),
                });
            }
            if config.current_context.as_deref() == Some(&name) {
                config.current_context = None;
            }
            app.store.delete_token(&name)?;
            app.store.save(&config)?;
            eprintln!("Deleted context {name:?}.");
            Ok(())
        }
    }
}
