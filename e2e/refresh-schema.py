#!/usr/bin/env python3
"""Introspects the testbed's running GoAlert and writes crates/goalert-client/src/schema.json.

The GraphQL operations of the operator and gctl are type-checked against this file at compile
time, so refreshing it after a GoAlert upgrade shows every incompatible change as a build error.
Run with the testbed up: python3 e2e/refresh-schema.py
"""
import json
import os
import pathlib
import urllib.parse
import urllib.request

STATE = os.environ.get("TESTBED_STATE", "/tmp/goalert-provisioning-testbed")
ROOT = pathlib.Path(__file__).resolve().parent.parent

INTROSPECTION = """
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) {
    name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason
  }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name ofType { kind name ofType { kind name ofType { kind name ofType {
    kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } }
}
"""


def testbed_env():
    env = {}
    for line in open(os.path.join(STATE, "env")):
        key, _, value = line.removeprefix("export ").strip().partition("=")
        env[key] = value
    return env


def main():
    env = testbed_env()
    url = env["GOALERT_URL"]
    form = urllib.parse.urlencode(
        {"username": env["GOALERT_ADMIN_USER"], "password": env["GOALERT_ADMIN_PASSWORD"]}
    ).encode()
    login = urllib.request.Request(
        f"{url}/api/v2/identity/providers/basic?noRedirect=1", data=form, headers={"Referer": f"{url}/"}
    )
    token = urllib.request.urlopen(login).read().decode().strip()
    body = json.dumps({"query": INTROSPECTION, "operationName": "IntrospectionQuery"}).encode()
    request = urllib.request.Request(
        f"{url}/api/graphql",
        data=body,
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    schema = json.load(urllib.request.urlopen(request))
    if schema.get("errors"):
        raise SystemExit(f"introspection failed: {schema['errors']}")
    out = ROOT / "crates" / "goalert-client" / "src" / "schema.json"
    out.write_text(json.dumps(schema, indent=1, sort_keys=True) + "\n")
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
