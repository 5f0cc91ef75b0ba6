//! The application's HTML pages; each carries the RUM snippet when one is configured.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{Form, State};
use axum::response::Html;

use crate::AppState;

fn page(state: &AppState, title: &str, body: &str) -> Html<String> {
    Html(format!(
        "<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\n{snippet}\n\
         </head>\n<body>\n<nav><a href=\"/\">Home</a> <a href=\"/form\">Join a room</a> \
         <a href=\"/slow-reveal\">Offers</a></nav>\n{body}\n</body></html>\n",
        snippet = state.snippet,
    ))
}

pub async fn home(State(state): State<Arc<AppState>>) -> Html<String> {
    page(
        &state,
        "Demo shop",
        "<h1>Demo shop</h1>\n<p>Headsets, webcams and microphones for your calls.</p>\n\
         <ul id=\"items\"></ul>\n<script>\nfetch('/api/items').then(r => r.json()).then(d => {\n\
         for (const item of d.items) {\n const li = document.createElement('li');\n\
         li.textContent = item.name + ' ' + item.price;\n\
         document.getElementById('items').appendChild(li);\n }\n});\n</script>",
    )
}

pub async fn form(State(state): State<Arc<AppState>>) -> Html<String> {
    page(
        &state,
        "Join a room",
        "<h1>Join a room</h1>\n<form method=\"post\" action=\"/join\">\n\
         <label>Room code <input id=\"code\" name=\"code\" required></label>\n\
         <button id=\"join\" type=\"submit\">Join</button>\n</form>",
    )
}

pub async fn join(
    State(state): State<Arc<AppState>>,
    Form(fields): Form<HashMap<String, String>>,
) -> Html<String> {
    let code = fields.get("code").map_or("", String::as_str);
    let code: String = code
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32)
        .collect();
    page(
        &state,
        "Room",
        &format!("<h1>Welcome to room {code}</h1>\n<div class=\"room\">You are in.</div>"),
    )
}

pub async fn slow_reveal(State(state): State<Arc<AppState>>) -> Html<String> {
    page(
        &state,
        "Offers",
        "<h1>Offers</h1>\n<button id=\"reveal\">Show offers</button>\n<div id=\"offers\"></div>\n\
         <script>\ndocument.getElementById('reveal').addEventListener('click', () => {\n\
         setTimeout(() => {\n const div = document.getElementById('offers');\n\
         div.innerHTML = '<p class=\"offer\">Webcam at half price</p>';\n }, 800);\n});\n</script>",
    )
}

pub async fn throws(State(state): State<Arc<AppState>>) -> Html<String> {
    page(
        &state,
        "Broken page",
        "<h1>Broken page</h1>\n<script>\nthrow new Error('demo: this page throws on purpose');\n</script>",
    )
}
