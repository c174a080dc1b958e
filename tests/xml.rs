//! XML bodies: responses written from the schema's `xml` hints, string examples sent as they
//! are, and XML request bodies read through the schema and validated like JSON.

mod common;

#[tokio::test]
async fn xml_responses_follow_the_schema_and_string_examples_go_as_written() {
    // Arrange
    let server = common::start("xml-pets.yaml").await;
    let c = common::client();
    // Act
    let pet = c.get(format!("{}/pets/7", server.url())).send().await.unwrap();
    let card = c.get(format!("{}/pets/7/card", server.url())).send().await.unwrap();
    // Assert
    assert_eq!(pet.status(), 200);
    assert_eq!(pet.headers()["content-type"], "application/xml");
    let text = pet.text().await.unwrap();
    assert!(text.contains(r#"<pet id="7"><name>Rex</name><tags><tag>good</tag><tag>small</tag></tags></pet>"#), "{text}");
    assert_eq!(card.text().await.unwrap(), "<card>as written</card>");
}

#[tokio::test]
async fn xml_request_bodies_are_validated_against_their_schema() {
    // Arrange
    let server = common::start("xml-pets.yaml").await;
    let c = common::client();
    let post = |body: &'static str| c.post(format!("{}/pets", server.url())).header("content-type", "application/xml").body(body).send();
    // Act
    let good = post(r#"<pet id="3"><name>Rex</name><tags><tag>a</tag></tags></pet>"#).await.unwrap();
    let no_id = post(r#"<pet><name>Rex</name></pet>"#).await.unwrap();
    let bad_id = post(r#"<pet id="three"><name>Rex</name></pet>"#).await.unwrap();
    let long = post(r#"<pet id="3"><name>far too long a name</name></pet>"#).await.unwrap();
    let broken = post(r#"<pet id="3"><name>Rex</pet>"#).await.unwrap();
    // Assert
    assert_eq!(good.status(), 201, "{}", good.text().await.unwrap());
    assert_eq!(no_id.status(), 422);
    assert_eq!(bad_id.status(), 422);
    let body = long.text().await.unwrap();
    assert!(body.contains("/name"), "the violation points into the body: {body}");
    assert_eq!(broken.status(), 400, "malformed XML");
}
