//! api: raw GraphQL with the session, for what gctl has no command for (like `gh api`).

use std::io::Read;

use serde_json::{Map, Value};

use super::{
    App,
    cli::ApiArgs,
    error::{Error, Result},
};

pub async fn run(app: &App, args: ApiArgs) -> Result<()> {
    let query = if args.query == "-" {
        let mut text = String::new();
        std::io::stdin().read_to_string(&mut text)?;
        text
    } else {
        args.query
    };
    if query.trim().is_empty() {
        return Err(Error::Usage("the GraphQL document is empty".into()));
    }
    let variables = variables(&args.fields)?;
    let session = app.session().await?;
    let mut body_variables = (!variables.is_empty()).then_some(Value::Object(variables));
    if let Some(operation) = args.operation {
        // Sent alongside; GoAlert picks the operation by name.
        body_variables.get_or_insert_with(|| Value::Object(Map::new()));
        return print(
            app,
            session
                .graphql_operation(&query, body_variables, &operation)
                .await?,
        );
    }
    print(app, session.graphql(&query, body_variables).await?)
}

fn print(app: &App, answer: Value) -> Result<()> {
    // The whole answer, as GoAlert sent it: `data` and `errors` side by side.
    app.out.print(&answer, |answer, _| {
        serde_json::to_string_pretty(answer).expect("JSON serializes") + "\n"
    })?;
    if answer.get("errors").is_some_and(|e| !e.is_null()) {
        return Err(Error::Refused(
            "GoAlert answered with errors (printed above)".into(),
        ));
    }
    Ok(())
}

/// `-F name=value` pairs; a value that is JSON is sent as JSON, anything else as text.
fn variables(fields: &[String]) -> Result<Map<String, Value>> {
    fields
        .iter()
        .map(|field| {
            let (name, value) = field
                .split_once('=')
                .ok_or_else(|| Error::Usage(format!("-F {field:?}: use name=value")))?;
            let value = serde_json::from_str(value).unwrap_or_else(|_| Value::String(value.to_owned()));
            Ok((name.to_owned(), value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_json_when_they_are_json_and_text_otherwise() {
        let vars = variables(&["id=4211".into(), "name=payments".into(), "ids=[1,2]".into()]).unwrap();
        assert_eq!(vars["id"], 4211);
        assert_eq!(vars["name"], "payments");
        assert_eq!(vars["ids"], serde_json::json!([1, 2]));
        assert!(variables(&["oops".into()]).is_err());
    }
}
