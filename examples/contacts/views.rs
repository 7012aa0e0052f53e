//! The three live views of one live session: the contact list (search,
//! sort and page held in the URL, delete with a confirmation step), a
//! contact's page (the long fields the list leaves out), and the add/edit
//! form (validated as you type, errors shown for touched fields, validated
//! again on submit, a guard for unsaved input).
//! They move between each other over one socket: `dj-navigate` links and
//! `ctx.push_navigate` mount the next view without a page load, and
//! `handle_params` reads each view's URL, on the first paint, on reload and
//! on Back and Forward.

use std::sync::Arc;

use djust::forms::{Form, FormState};
use djust::prelude::*;

use super::db::{Contact, ContactInput, Db, Sort};

/// Contacts per page.
pub const PER_PAGE: u32 = 10;

/// Longest search kept, in characters.
const MAX_QUERY_CHARS: usize = 100;

fn db_error(error: rusqlite::Error) -> Error {
    Error::msg(format!("database: {error}"))
}

/// `value` percent-encoded for a URL's query (everything but the
/// unreserved characters of RFC 3986).
fn query_value(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for byte in value.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// The list's URL for a search, sort order and page: `/` for the defaults,
/// otherwise only what differs (`/?q=ada&sort=email&page=2`).
pub fn list_url(query: &str, sort: Sort, page: u32) -> String {
    let mut parts = Vec::new();
    if !query.is_empty() {
        parts.push(format!("q={}", query_value(query)));
    }
    if sort != Sort::Name {
        parts.push(format!("sort={}", sort.as_str()));
    }
    if page > 1 {
        parts.push(format!("page={page}"));
    }
    if parts.is_empty() {
        "/".to_owned()
    } else {
        format!("/?{}", parts.join("&"))
    }
}

/// A contact's page.
pub fn contact_url(id: i64) -> String {
    format!("/contacts/{id}")
}

/// A contact's edit form.
pub fn edit_url(id: i64) -> String {
    format!("/contacts/{id}/edit")
}

/// `/`: the list. Its state is its URL (`/?q=ada&sort=email&page=2`):
/// sort headers and the pager are `dj-patch` links, the search box patches
/// the URL as you type, and `handle_params` loads the page the URL names.
/// Only the short fields are columns, so the table fits a narrow window;
/// the website and notes are on each contact's page.
pub struct ContactList {
    query: String,
    sort: Sort,
    page: u32,
    rows: Vec<Contact>,
    total: u32,
    confirm: Option<i64>,
    can_change: bool,
    can_delete: bool,
    _db: Private<Arc<Db>>,
}

impl ContactList {
    fn page_count(&self) -> u32 {
        self.total.div_ceil(PER_PAGE).max(1)
    }

    /// The header link that sorts by `sort` (from the first page).
    fn sort_url(&self, sort: Sort) -> String {
        list_url(&self.query, sort, 1)
    }

    fn sort_class(&self, sort: Sort) -> &'static str {
        if self.sort == sort {
            "sorted"
        } else {
            ""
        }
    }

    fn aria_sort(&self, sort: Sort) -> &'static str {
        match (self.sort == sort, sort) {
            (false, _) => "none",
            (true, Sort::Newest) => "descending",
            (true, _) => "ascending",
        }
    }

    fn page_url(&self, page: u32) -> String {
        list_url(&self.query, self.sort, page)
    }
}

#[live_view(
    login_required,
    permission = "contacts.view",
    login_url = "/login",
    name = "contacts",
    title = "All contacts"
)]
impl ContactList {
    /// Reloads the current page of results. Kept in this block (not with
    /// the other helpers) so the audit attributes the fields it assigns to
    /// every handler that calls it.
    fn reload(&mut self) -> Result<()> {
        let (rows, total, page) = self
            ._db
            .expose()
            .search(&self.query, self.sort, self.page, PER_PAGE)
            .map_err(db_error)?;
        self.rows = rows;
        self.total = total;
        self.page = page;
        Ok(())
    }

    async fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let db = ctx.state::<Arc<Db>>()?.clone();
        let user = ctx.user().ok_or_else(Error::forbidden)?;
        // No query here: `handle_params` runs next, on every mount, and
        // loads the page its URL names.
        Ok(ContactList {
            query: String::new(),
            sort: Sort::Name,
            page: 1,
            rows: Vec::new(),
            total: 0,
            confirm: None,
            can_change: user.has_perm("contacts.change"),
            can_delete: user.has_perm("contacts.delete"),
            _db: Private::new(db),
        })
    }

    /// `/?q=..&sort=..&page=..`: typed and checked like handler
    /// parameters (`?page=x` or `?sort=shoe` is an error naming the
    /// parameter); unknown keys are ignored.
    fn handle_params(
        &mut self,
        ctx: &mut EventCtx,
        q: Option<String>,
        sort: Option<Sort>,
        #[default(1)] page: u32,
    ) -> Result<()> {
        self.query = q
            .unwrap_or_default()
            .trim()
            .chars()
            .take(MAX_QUERY_CHARS)
            .collect();
        self.sort = sort.unwrap_or_default();
        self.page = page;
        self.confirm = None;
        self.reload()?;
        let title = match (self.query.is_empty(), self.page) {
            (true, 1) => "All contacts".to_owned(),
            (true, page) => format!("All contacts, page {page}"),
            (false, page) => format!(
                "Contacts matching \u{201c}{}\u{201d}, page {page}",
                self.query
            ),
        };
        ctx.set_title(&title);
        Ok(())
    }

    fn render(&self) -> Html {
        html! {
            <h1>"All contacts"</h1>
            <div class="toolbar">
                <form role="search" method="get" action="/" dj-submit="search">
                    <input type="search" id="search" name="q" placeholder="Search name or email" autocomplete="off"
                        aria-label="Search name or email" value={self.query} dj-input="search" dj-debounce="300">
                </form>
                if self.can_change { <a href="/contacts/new" id="add" dj-navigate>"Add contact"</a> }
                <span class="muted" id="total">{self.total} " contacts"</span>
            </div>
            <table class="contacts">
                <thead>
                    <tr>
                        <th aria-sort={self.aria_sort(Sort::Name)}><a id="sort-name" class={self.sort_class(Sort::Name)} href={self.sort_url(Sort::Name)} dj-patch>"Name"</a></th>
                        <th aria-sort={self.aria_sort(Sort::Email)}><a id="sort-email" class={self.sort_class(Sort::Email)} href={self.sort_url(Sort::Email)} dj-patch>"Email"</a></th>
                        <th>"Phone"</th>
                        <th aria-sort={self.aria_sort(Sort::Newest)}><a id="sort-newest" class={self.sort_class(Sort::Newest)} href={self.sort_url(Sort::Newest)} dj-patch>"Newest"</a></th>
                    </tr>
                </thead>
                <tbody id="rows">
                    for c in &self.rows key = c.id {
                        <tr data-id={c.id}>
                            <td class="name">
                                <a class="open" href={contact_url(c.id)} dj-navigate>
                                    if c.has_photo {
                                        <img class="thumb" src={format!("/photos/{}", c.id)} alt="" width="28" height="28">
                                    }
                                    {c.name}
                                </a>
                            </td>
                            <td class="email">{c.email}</td>
                            <td class="phone">{c.phone}</td>
                            <td class="actions">
                                if self.can_change { <a class="edit" href={edit_url(c.id)} dj-navigate>"Edit"</a> }
                                if self.can_delete {
                                    if self.confirm == Some(c.id) {
                                        <span class="confirm">"Delete " <b>{c.name}</b> "? "</span>
                                        <button class="confirm-delete" dj-click="delete" dj-value-id={c.id}>"Yes, delete"</button>
                                        <button class="cancel-delete" dj-click="cancel_delete">"No"</button>
                                    } else {
                                        <button class="delete" dj-click="ask_delete" dj-value-id={c.id}>"Delete"</button>
                                    }
                                }
                            </td>
                        </tr>
                    }
                </tbody>
            </table>
            if self.rows.is_empty() { <p id="empty">"No contacts."</p> }
            <nav class="pager" aria-label="Pages">
                if self.page > 1 {
                    <a id="prev" href={self.page_url(self.page - 1)} dj-patch rel="prev">"Previous"</a>
                } else {
                    <span id="prev" class="muted" aria-disabled="true">"Previous"</span>
                }
                <span id="page">"Page " {self.page} " of " {self.page_count()}</span>
                if self.page < self.page_count() {
                    <a id="next" href={self.page_url(self.page + 1)} dj-patch rel="next">"Next"</a>
                } else {
                    <span id="next" class="muted" aria-disabled="true">"Next"</span>
                }
            </nav>
        }
    }

    /// The search box: the URL follows what is typed (a history entry per
    /// pause, so Back steps through searches), and `handle_params` loads it.
    #[event_handler]
    #[rate_limit(rate = 10, burst = 5)]
    #[permission_required("contacts.view")]
    fn search(&mut self, ctx: &mut EventCtx, q: String) -> Result<()> {
        let q: String = q.trim().chars().take(MAX_QUERY_CHARS).collect();
        if q == self.query {
            return Ok(());
        }
        ctx.push_patch(&list_url(&q, self.sort, 1))
    }

    #[event_handler]
    #[permission_required("contacts.delete")]
    fn ask_delete(&mut self, id: i64) {
        self.confirm = self.rows.iter().any(|c| c.id == id).then_some(id);
    }

    #[event_handler]
    #[permission_required("contacts.delete")]
    fn cancel_delete(&mut self) {
        self.confirm = None;
    }

    #[event_handler]
    #[rate_limit(rate = 2, burst = 5)]
    #[permission_required("contacts.delete")]
    fn delete(&mut self, ctx: &mut EventCtx, id: i64) -> Result<()> {
        if self.confirm != Some(id) {
            return Err(Error::bad_request("confirm the deletion first"));
        }
        self.confirm = None;
        if self._db.expose().delete(id).map_err(db_error)? {
            ctx.put_flash(FlashKind::Success, "Contact deleted.");
        }
        self.reload()
    }
}

/// `/contacts/{id}`: one contact, every field.
pub struct ContactDetail {
    contact: Option<Contact>,
    can_change: bool,
    _db: Private<Arc<Db>>,
}

#[live_view(
    login_required,
    permission = "contacts.view",
    login_url = "/login",
    name = "contact"
)]
impl ContactDetail {
    async fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let db = ctx.state::<Arc<Db>>()?.clone();
        Ok(ContactDetail {
            contact: None,
            can_change: ctx.has_perm("contacts.change"),
            _db: Private::new(db),
        })
    }

    /// `id` comes from the path; a missing contact is a 404 (an error
    /// frame during live navigation, which leaves the current page).
    fn handle_params(&mut self, ctx: &mut EventCtx, id: i64) -> Result<()> {
        let contact = self
            ._db
            .expose()
            .get(id)
            .map_err(db_error)?
            .ok_or_else(Error::not_found)?;
        ctx.set_title(&contact.name);
        self.contact = Some(contact);
        Ok(())
    }

    fn render(&self) -> Html {
        html! {
            <p class="crumbs"><a id="back" href="/" dj-navigate>"All contacts"</a></p>
            if let Some(c) = &self.contact {
                <article class="contact" data-id={c.id}>
                    <h1 id="contact-name">
                        if c.has_photo {
                            <img class="photo" src={format!("/photos/{}", c.id)} alt="" width="96" height="96">
                        }
                        {c.name}
                    </h1>
                    <dl class="fields">
                        <dt>"Email"</dt>
                        <dd id="email">{c.email}</dd>
                        <dt>"Phone"</dt>
                        <dd id="phone">{c.phone}</dd>
                        <dt>"Website"</dt>
                        <dd id="website">
                            if !c.website.is_empty() { <a href={c.website} rel="nofollow noopener noreferrer">{c.website}</a> }
                        </dd>
                        <dt>"Notes"</dt>
                        <dd id="notes">{c.notes}</dd>
                    </dl>
                    if self.can_change {
                        <p class="toolbar"><a id="edit" href={edit_url(c.id)} dj-navigate>"Edit"</a></p>
                    }
                </article>
            }
        }
    }
}

/// The add/edit form: only these fields are read from an event (any other
/// key is dropped and counted), and garde checks them on every change and
/// again, from the submitted values alone, on every submit.
/// A field left out of the event is empty (`#[serde(default)]`).
#[derive(Debug, Clone, Default, serde::Deserialize, serde::Serialize, garde::Validate)]
#[serde(default)]
pub struct ContactForm {
    /// Required, at most 100 characters.
    #[garde(custom(not_blank), length(chars, max = 100))]
    pub name: String,
    /// Optional (an empty field is `None`); an email address.
    #[garde(email, length(max = 254))]
    pub email: Option<String>,
    /// Digits, spaces and + ( ) - . only; at most 40 characters.
    #[garde(custom(phone_chars), length(chars, max = 40))]
    pub phone: String,
    /// Optional; an http:// or https:// address.
    #[garde(custom(http_address), length(max = 300))]
    pub website: Option<String>,
    /// At most 2000 characters.
    #[garde(length(chars, max = 2000))]
    pub notes: String,
}

fn not_blank(value: &str, _: &()) -> garde::Result {
    if value.trim().is_empty() {
        return Err(garde::Error::new("Name is required."));
    }
    Ok(())
}

fn phone_chars(value: &str, _: &()) -> garde::Result {
    if !value
        .chars()
        .all(|c| c.is_ascii_digit() || " +()-.".contains(c))
    {
        return Err(garde::Error::new(
            "Phone numbers may contain digits, spaces and + ( ) - . only.",
        ));
    }
    Ok(())
}

fn http_address(value: &Option<String>, _: &()) -> garde::Result {
    let Some(value) = value else { return Ok(()) };
    let lower = value.to_ascii_lowercase();
    let valid = (lower.starts_with("https://") || lower.starts_with("http://"))
        && !value.chars().any(|c| c.is_whitespace() || c.is_control());
    if !valid {
        return Err(garde::Error::new(
            "The website must be an http:// or https:// address.",
        ));
    }
    Ok(())
}

impl ContactForm {
    fn from_input(input: ContactInput) -> Self {
        let some = |text: String| (!text.is_empty()).then_some(text);
        ContactForm {
            name: input.name,
            email: some(input.email),
            phone: input.phone,
            website: some(input.website),
            notes: input.notes,
        }
    }

    fn into_input(self) -> ContactInput {
        ContactInput {
            name: self.name.trim().to_owned(),
            email: self.email.unwrap_or_default().trim().to_owned(),
            phone: self.phone.trim().to_owned(),
            website: self.website.unwrap_or_default().trim().to_owned(),
            notes: self.notes,
        }
    }
}

/// `/contacts/new` adds, `/contacts/{id}/edit` edits (the same view at
/// two routes), with an optional photo. The form is guarded: a navigation
/// or an unload asks before typed input is thrown away.
pub struct ContactEditor {
    id: Option<i64>,
    form: FormState<ContactForm>,
    has_photo: bool,
    _db: Private<Arc<Db>>,
}

impl ContactEditor {
    /// The field's first error, once the user touched it. The template
    /// always renders each error's `<p>` (empty when there is none) so an
    /// error coming or going never shifts the inputs the user is typing in.
    fn error(&self, field: &str) -> Option<&str> {
        self.form.error_for(field)
    }

    /// Where Cancel goes: the contact's page, or the list for a new one.
    fn cancel_url(&self) -> String {
        self.id.map_or_else(|| "/".to_owned(), contact_url)
    }
}

#[live_view(
    login_required,
    permission = "contacts.change",
    login_url = "/login",
    name = "contact_editor",
    upload(
        photo,
        accept = "image/png image/jpeg image/gif image/webp",
        max_size = "2MB",
        max_entries = 1,
        permission = "contacts.change"
    )
)]
impl ContactEditor {
    async fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let db = ctx.state::<Arc<Db>>()?.clone();
        Ok(ContactEditor {
            id: None,
            form: FormState::new(ContactForm::default()),
            has_photo: false,
            _db: Private::new(db),
        })
    }

    /// `id` from `/contacts/{id}/edit`; none at `/contacts/new`.
    fn handle_params(&mut self, ctx: &mut EventCtx, id: Option<i64>) -> Result<()> {
        let Some(id) = id else {
            self.id = None;
            self.form = FormState::new(ContactForm::default());
            self.has_photo = false;
            ctx.set_title("New contact");
            return Ok(());
        };
        let contact = self
            ._db
            .expose()
            .get(id)
            .map_err(db_error)?
            .ok_or_else(Error::not_found)?;
        ctx.set_title(&format!("Edit {}", contact.name));
        self.id = Some(id);
        self.has_photo = contact.has_photo;
        self.form = FormState::new(ContactForm::from_input(ContactInput {
            name: contact.name,
            email: contact.email,
            phone: contact.phone,
            website: contact.website,
            notes: contact.notes,
        }));
        Ok(())
    }

    fn render(&self) -> Html {
        html! {
            <h1>if self.id.is_some() { "Edit contact" } else { "Add contact" }</h1>
            <form class="stack" id="contact-form" dj-change="validate" dj-submit="save" dj-guard="Discard your changes to this contact?" novalidate>
                <label>"Name" <input name="name" id="name" value={self.form.value("name")} maxlength="100"></label>
                <p class="error" id="error-name" aria-live="polite">{self.error("name").unwrap_or_default()}</p>
                <label>"Email" <input name="email" id="email" type="email" value={self.form.value("email")}></label>
                <p class="error" id="error-email" aria-live="polite">{self.error("email").unwrap_or_default()}</p>
                <label>"Phone" <input name="phone" id="phone" value={self.form.value("phone")}></label>
                <p class="error" id="error-phone" aria-live="polite">{self.error("phone").unwrap_or_default()}</p>
                <label>"Website" <input name="website" id="website" value={self.form.value("website")}></label>
                <p class="error" id="error-website" aria-live="polite">{self.error("website").unwrap_or_default()}</p>
                <label>"Notes" <textarea name="notes" id="notes" rows="4">{self.form.value("notes")}</textarea></label>
                <p class="error" id="error-notes" aria-live="polite">{self.error("notes").unwrap_or_default()}</p>
                <fieldset class="photo">
                    <legend>"Photo (PNG, JPEG, GIF or WebP, at most 2 MB)"</legend>
                    if let (Some(id), true) = (self.id, self.has_photo) {
                        <img id="current-photo" class="photo" src={format!("/photos/{id}")} alt="Current photo" width="96" height="96">
                    }
                    <img id="photo-preview" class="photo" dj-upload-preview="photo" alt="" width="96" height="96">
                    <input type="file" id="photo" name="photo" accept="image/png,image/jpeg,image/gif,image/webp" dj-upload="photo">
                    <progress id="photo-progress" dj-upload-progress="photo" max="100" value="0"></progress>
                    <button type="button" id="photo-cancel" dj-upload-cancel="photo">"Remove"</button>
                    <p class="error" id="error-photo" dj-upload-error="photo" role="alert"></p>
                </fieldset>
                <div class="toolbar">
                    <button type="submit" id="save" dj-disable-with="Saving…">"Save"</button>
                    <a id="cancel" href={self.cancel_url()} dj-navigate>"Cancel"</a>
                </div>
            </form>
        }
    }

    /// Validates as the user types: errors show for touched fields only.
    #[event_handler]
    #[rate_limit(rate = 20, burst = 40)]
    #[permission_required("contacts.change")]
    fn validate(&mut self, form: Form<ContactForm>) {
        self.form.change(form);
    }

    /// Validates again from the submitted values (never the state the last
    /// `validate` left), saves, then shows the contact's page with a flash:
    /// the flash rides the navigation (the next view shows it once).
    #[event_handler]
    #[rate_limit(rate = 2, burst = 5)]
    #[permission_required("contacts.change")]
    fn save(&mut self, ctx: &mut EventCtx, form: Form<ContactForm>) -> Result<()> {
        let Some(valid) = self.form.submit(form) else {
            return Ok(());
        };
        let input = valid.into_input();
        let id = match self.id {
            Some(id) => {
                if !self._db.expose().update(id, &input).map_err(db_error)? {
                    return Err(Error::not_found());
                }
                id
            }
            None => self._db.expose().insert(&input).map_err(db_error)?,
        };
        // The photo, if one was uploaded: its type is what its bytes proved.
        let db = self._db.expose();
        ctx.consume_uploads("photo", |file, path| {
            let bytes = std::fs::read(path).map_err(|e| Error::msg(e.to_string()))?;
            db.set_photo(id, file.mime, &bytes).map_err(db_error)
        })?;
        ctx.put_flash(FlashKind::Success, "Contact saved.");
        // Never send a user to a page they may not see: one who may change
        // contacts but not view them stays on the form (a new contact's
        // form becomes its edit form).
        if ctx.has_perm("contacts.view") {
            ctx.push_navigate(&contact_url(id))
        } else {
            self.id = Some(id);
            Ok(())
        }
    }
}
