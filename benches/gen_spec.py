#!/usr/bin/env python3
"""Writes a synthetic OpenAPI 3.0 document with N operations, to show how start-up grows with
the size of a spec (benches/startup.sh).

Usage: gen_spec.py N OUT.json

Every resource i gets four operations: list (GET /resI), create (POST /resI, JSON body checked
against a schema), read (GET /resI/{resIId}) and merge update (PATCH /resI/{resIId}). Each
resource has its own schema with typed and formatted properties, a shared error schema is
referenced everywhere, and responses carry examples (which specstub checks at load), so the
document resembles a large real API rather than N copies of one line.
"""
import json
import sys


def resource_schema(i):
    return {
        "type": "object",
        "required": [f"res{i}Id", "name", "createdAt"],
        "properties": {
            f"res{i}Id": {"type": "string", "format": "uuid"},
            "name": {"type": "string", "minLength": 1, "maxLength": 200},
            "description": {"type": "string", "maxLength": 2000},
            "email": {"type": "string", "format": "email"},
            "createdAt": {"type": "string", "format": "date-time"},
            "count": {"type": "integer", "format": "int32", "minimum": 0},
            "price": {"type": "number", "format": "double"},
            "status": {"type": "string", "enum": ["active", "paused", "archived"]},
            "tags": {"type": "array", "maxItems": 20, "items": {"type": "string"}},
            "owner": {"$ref": "#/components/schemas/Owner"},
        },
    }


def example(i):
    return {
        f"res{i}Id": "3fa85f64-5717-4562-b3fc-2c963f66afa6",
        "name": f"resource {i}",
        "email": "ops@example.com",
        "createdAt": "2024-05-01T12:00:00Z",
        "count": i,
        "price": 1.5,
        "status": "active",
        "tags": ["synthetic"],
        "owner": {"login": "octocat", "id": 1},
    }


def error_responses():
    err = {"description": "Error", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {"400": err, "404": err}


def main():
    n = int(sys.argv[1])
    out = sys.argv[2]
    resources = (n + 3) // 4
    paths = {}
    schemas = {
        "Error": {
            "type": "object",
            "required": ["message"],
            "properties": {"message": {"type": "string"}, "code": {"type": "integer"}},
        },
        "Owner": {
            "type": "object",
            "properties": {"login": {"type": "string"}, "id": {"type": "integer", "format": "int64"}},
        },
    }
    ops = 0
    for i in range(resources):
        name = f"Res{i}"
        schemas[name] = resource_schema(i)
        ref = {"$ref": f"#/components/schemas/{name}"}
        one = {"description": "OK", "content": {"application/json": {"schema": ref, "example": example(i)}}}
        coll = {}
        item = {}
        if ops < n:
            coll["get"] = {
                "operationId": f"list{name}",
                "parameters": [
                    {"name": "page", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                    {"name": "per_page", "in": "query", "schema": {"type": "integer", "maximum": 100}},
                ],
                "responses": {
                    "200": {
                        "description": "OK",
                        "content": {"application/json": {"schema": {"type": "array", "items": ref}, "example": [example(i)]}},
                    },
                    **error_responses(),
                },
            }
            ops += 1
        if ops < n:
            coll["post"] = {
                "operationId": f"create{name}",
                "requestBody": {"required": True, "content": {"application/json": {"schema": ref}}},
                "responses": {"201": one, **error_responses()},
            }
            ops += 1
        if ops < n:
            item["get"] = {"operationId": f"get{name}", "responses": {"200": one, **error_responses()}}
            ops += 1
        if ops < n:
            item["patch"] = {
                "operationId": f"update{name}",
                "requestBody": {"content": {"application/json": {"schema": ref}}},
                "responses": {"200": one, **error_responses()},
            }
            ops += 1
        paths[f"/res{i}"] = coll
        if item:
            item["parameters"] = [{"name": f"res{i}Id", "in": "path", "required": True, "schema": {"type": "string", "format": "uuid"}}]
            paths[f"/res{i}/{{res{i}Id}}"] = item
    doc = {
        "openapi": "3.0.3",
        "info": {"title": f"synthetic {n} operations", "version": "1.0.0"},
        "paths": paths,
        "components": {"schemas": schemas},
    }
    with open(out, "w") as f:
        json.dump(doc, f)
    print(f"{out}: {ops} operations, {resources} resources", file=sys.stderr)


if __name__ == "__main__":
    main()
