//! override add: someone covers a schedule for a while ("cover me").

use jiff::Timestamp;

use super::{
    App,
    cli::{OverrideArgs, OverrideCommand},
    error::{Error, Result},
    lookup::{self, Named},
    ops::{CreateOverride, CurrentUser, create_override, current_user},
    prompt,
    session::Session,
    time,
};

pub async fn run(app: &App, command: OverrideCommand) -> Result<()> {
    let session = app.session().await?;
    match command {
        OverrideCommand::Add(args) => add(app, &session, args).await,
    }
}

/// `me`, `nobody`, or a user's name.
async fn person(session: &Session, typed: &str) -> Result<Option<Named>> {
    match typed.to_lowercase().as_str() {
        "nobody" | "none" => Ok(None),
        "me" => {
            let me = session
                .run::<CurrentUser>(current_user::Variables {})
                .await?
                .user
                .ok_or_else(|| Error::NotLoggedIn {
                    context: Some(session.context.clone()),
                })?;
            Ok(Some(Named {
                id: me.id,
                name: me.name,
            }))
        }
        _ => lookup::user(session, typed).await.map(Some),
    }
}

async fn add(app: &App, session: &Session, args: OverrideArgs) -> Result<()> {
    let now = Timestamp::now();
    let start = args
        .from
        .as_deref()
        .map_or(Ok(now), |t| time::parse_time(t, now))?;
    let end = match (&args.until, &args.for_) {
        (Some(until), _) => time::parse_time(until, now)?,
        (None, Some(duration)) => start + time::parse_duration(duration)?,
        (None, None) => unreachable!("clap requires --until or --for"),
    };
    time::check_window(start, end)?;
    if end <= now {
        return Err(Error::Usage("the override would end in the past".into()));
    }
    let schedule = lookup::schedule(session, &args.schedule).await?;
    let user = person(session, &args.user)
        .await?
        .ok_or_else(|| Error::Usage("--user names who goes on call; it cannot be nobody".into()))?;
    let replacing = person(session, &args.replacing).await?;
    if replacing.as_ref().is_some_and(|r| r.id == user.id) {
        return Err(Error::Usage(format!("{} cannot replace themselves", user.name)));
    }
    let utc = app.global.utc;
    let what = match &replacing {
        Some(other) => format!("{} covers {}", user.name, other.name),
        None => format!("{} is on call too", user.name),
    };
    let span = format!("{} to {}", time::show(start, utc), time::show(end, utc));
    if !args.yes {
        prompt::confirm(&format!("In {}, {what} from {span}?", schedule.name))?;
    }
    let input = create_override::CreateUserOverrideInput {
        schedule_id: Some(schedule.id.clone()),
        start: start.to_string(),
        end: end.to_string(),
        add_user_id: Some(user.id.clone()),
        remove_user_id: replacing.as_ref().map(|r| r.id.clone()),
    };
    let created = session
        .run::<CreateOverride>(create_override::Variables { input })
        .await?
        .create_user_override
        .ok_or_else(|| Error::Refused("GoAlert did not create the override".into()))?;
    let result = serde_json::json!({
        "id": created.id,
        "schedule": schedule.name,
        "user": user.name,
        "replacing": replacing.map(|r| r.name),
        "start": created.start,
        "end": created.end,
    });
    app.out.print(&result, |_, _| {
        format!("In {}, {what} from {span}.\n", schedule.name)
    })
}
