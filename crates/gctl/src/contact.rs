//! contact list / verify. GoAlert creates contact methods disabled and enables one only when its
//! owner enters the code sent to it, so people whose contact methods were provisioned for them
//! (for example by the operator) finish the job here.

use serde::Serialize;

use super::{
    App,
    cli::ContactCommand,
    error::{Error, Result},
    lookup::{self, Named},
    ops::{
        MyContactMethods, SendContactMethodVerification, VerifyContactMethod, my_contact_methods,
        send_contact_method_verification, verify_contact_method,
    },
    output::{Cell, Paint, Style, Table},
    prompt,
    session::Session,
};

#[derive(Debug, Clone, Serialize)]
struct ContactMethod {
    id: String,
    name: String,
    #[serde(rename = "type")]
    kind: String,
    value: String,
    verified: bool,
}

pub async fn run(app: &App, command: ContactCommand) -> Result<()> {
    let session = app.session().await?;
    let methods = my_methods(&session).await?;
    match command {
        ContactCommand::List => app.out.print(&methods, |m, paint| render(m, paint)),
        ContactCommand::Verify { method: None, .. } => {
            let unverified: Vec<ContactMethod> = methods.into_iter().filter(|m| !m.verified).collect();
            app.out.print(&unverified, |m, paint| {
                if m.is_empty() {
                    "All your contact methods are verified.\n".into()
                } else {
                    render(m, paint) + "\nVerify one with: gctl contact verify NAME\n"
                }
            })
        }
        ContactCommand::Verify {
            method: Some(typed),
            send,
            code,
        } => {
            let candidates = methods
                .iter()
                .map(|m| Named {
                    id: m.id.clone(),
                    name: m.name.clone(),
                })
                .collect();
            let chosen = lookup::pick("contact method", &typed, candidates)?;
            let code = match code {
                Some(code) => code,
                None => {
                    session
                        .run::<SendContactMethodVerification>(send_contact_method_verification::Variables {
                            id: chosen.id.clone(),
                        })
                        .await?;
                    eprintln!("Sent a verification code to {:?}.", chosen.name);
                    if send {
                        eprintln!("Enter it with: gctl contact verify {:?} --code CODE", chosen.name);
                        return Ok(());
                    }
                    let typed = prompt::ask("Code: ")?;
                    typed
                        .trim()
                        .parse()
                        .map_err(|_| Error::Usage(format!("{typed:?} is not a numeric code")))?
                }
            };
            verify(&session, &chosen, code).await?;
            let result = serde_json::json!({ "id": chosen.id, "name": chosen.name, "verified": true });
            app.out.print(&result, |_, _| {
                format!("Verified {:?}; GoAlert will notify you there now.\n", chosen.name)
            })
        }
    }
}

async fn verify(session: &Session, method: &Named, code: u32) -> Result<()> {
    session
        .run::<VerifyContactMethod>(verify_contact_method::Variables {
            id: method.id.clone(),
            code: i64::from(code),
        })
        .await?;
    Ok(())
}

async fn my_methods(session: &Session) -> Result<Vec<ContactMethod>> {
    let user = session
        .run::<MyContactMethods>(my_contact_methods::Variables {})
        .await?
        .user
        .ok_or_else(|| Error::NotLoggedIn {
            context: Some(session.context.clone()),
        })?;
    Ok(user
        .contact_methods
        .into_iter()
        .map(|m| ContactMethod {
            id: m.id,
            name: m.name,
            value: match m.dest.display_info {
                my_contact_methods::MyContactMethodsUserContactMethodsDestDisplayInfo::DestinationDisplayInfo(info) => {
                    info.text
                }
                _ => String::new(),
            },
            kind: m.dest.type_,
            verified: !m.disabled,
        })
        .collect())
}

fn render(methods: &[ContactMethod], paint: Paint) -> String {
    if methods.is_empty() {
        return "No contact methods.\n".into();
    }
    let mut table = Table::new(&["NAME", "TYPE", "VALUE", "STATE", "ID"]);
    for m in methods {
        let state = if m.verified {
            Cell::styled("verified", Some(Style::Green))
        } else {
            Cell::styled("unverified (disabled)", Some(Style::Red))
        };
        table.row(vec![
            m.name.clone().into(),
            m.kind.clone().into(),
            m.value.clone().into(),
            state,
            m.id.clone().into(),
        ]);
    }
    table.render(paint)
}
