//! The two live views: the contact list (search, sort, pages, delete with a
//! confirmation step) and the add/edit form (server-side validation shown
//! inline).

use std::collections::BTreeMap;
use std::sync::Arc;

use djust::prelude::*;
use djust::runtime::server::csrf_field;

use super::db::{Contact, ContactInput, Db, Sort};

/// Contacts per page.
pub const PER_PAGE: u32 = 10;

fn db_error(error: rusqlite::Error) -> Error {
    Error::msg(format!("database: {error}"))
}

/// `/`: the list.
pub struct ContactList {
    query: String,
    sort: Sort,
    page: u32,
    rows: Vec<Contact>,
    total: u32,
    confirm: Option<i64>,
    notice: Option<String>,
    can_change: bool,
    can_delete: bool,
    username: String,
    csrf: String,
    _db: Private<Arc<Db>>,
}

impl ContactList {
    fn page_count(&self) -> u32 {
        self.total.div_ceil(PER_PAGE).max(1)
    }

    fn sort_class(&self, sort: Sort) -> &'static str {
        if self.sort == sort {
            "sorted"
        } else {
            ""
        }
    }
}

#[live_view(
    login_required,
    permission = "contacts.view",
    login_url = "/login",
    name = "contacts"
)]
impl ContactList {
    /// Reloads the current page of results. Kept in this block (not with
    /// the other helpers) so the audit attributes the fields it assigns to
    /// every handler that calls it.
    fn reload(&mut self) -> Result<()> {
        let (rows, total) = self
            ._db
            .expose()
            .search(&self.query, self.sort, self.page, PER_PAGE)
            .map_err(db_error)?;
        self.rows = rows;
        self.total = total;
        Ok(())
    }

    async fn mount(ctx: &mut MountCtx) -> Result<Self> {
        let db = ctx.state::<Arc<Db>>()?.clone();
        let user = ctx.user().ok_or_else(Error::forbidden)?;
        let mut view = ContactList {
            query: ctx
                .query("q")
                .unwrap_or_default()
                .chars()
                .take(100)
                .collect(),
            sort: Sort::Name,
            page: 1,
            rows: Vec::new(),
            total: 0,
            confirm: None,
            notice: ctx.query("saved").map(|_| "Contact saved.".to_owned()),
            can_change: user.has_perm("contacts.change"),
            can_delete: user.has_perm("contacts.delete"),
            username: user.username.clone(),
            csrf: ctx.csrf_token().unwrap_or_default().to_owned(),
            _db: Private::new(db),
        };
        view.reload()?;
        Ok(view)
    }

    fn render(&self) -> Html {
        html! {
            <header class="toolbar">
                <h1>"Contacts"</h1>
                <span class="muted">"Signed in as " <b id="username">{self.username}</b></span>
                <form method="post" action="/logout">
                    {csrf_field(&self.csrf)}
                    <button type="submit" id="logout">"Log out"</button>
                </form>
            </header>
            if let Some(notice) = &self.notice { <p class="notice" id="notice">{notice}</p> }
            <div class="toolbar">
                <input type="search" id="search" name="q" placeholder="Search name or email" autocomplete="off"
                    value={self.query} dj-input="search" dj-debounce="300">
                if self.can_change { <a href="/contacts/edit" id="add">"Add contact"</a> }
                <span class="muted" id="total">{self.total} " contacts"</span>
            </div>
            <table>
                <thead>
                    <tr>
                        <th><button class={self.sort_class(Sort::Name)} dj-click="sort" dj-value-by="name">"Name"</button></th>
                        <th><button class={self.sort_class(Sort::Email)} dj-click="sort" dj-value-by="email">"Email"</button></th>
                        <th>"Phone"</th>
                        <th>"Website"</th>
                        <th>"Notes"</th>
                        <th><button class={self.sort_class(Sort::Newest)} dj-click="sort" dj-value-by="newest">"Newest"</button></th>
                    </tr>
                </thead>
                <tbody id="rows">
                    for c in &self.rows key = c.id {
                        <tr data-id={c.id}>
                            <td class="name">
                                if c.has_photo {
                                    <img class="thumb" src={format!("/photos/{}", c.id)} alt="" width="28" height="28">
                                }
                                {c.name}
                            </td>
                            <td class="email">{c.email}</td>
                            <td class="phone">{c.phone}</td>
                            <td class="website">
                                if !c.website.is_empty() { <a href={c.website} rel="nofollow noopener noreferrer">{c.website}</a> }
                            </td>
                            <td class="notes">{c.notes}</td>
                            <td class="actions">
                                if self.can_change { <a class="edit" href={format!("/contacts/edit?id={}", c.id)}>"Edit"</a> }
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
            <nav class="pager">
                <button id="prev" dj-click="page" dj-value-to={self.page.saturating_sub(1)} disabled={self.page <= 1}>"Previous"</button>
                <span id="page">"Page " {self.page} " of " {self.page_count()}</span>
                <button id="next" dj-click="page" dj-value-to={self.page + 1} disabled={self.page >= self.page_count()}>"Next"</button>
            </nav>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 10, burst = 5)]
    #[permission_required("contacts.view")]
    fn search(&mut self, q: String) -> Result<()> {
        self.query = q.trim().chars().take(100).collect();
        self.page = 1;
        self.confirm = None;
        self.notice = None;
        self.reload()
    }

    #[event_handler]
    #[permission_required("contacts.view")]
    fn sort(&mut self, by: String) -> Result<()> {
        self.sort = Sort::parse(&by).ok_or_else(|| Error::bad_request("unknown sort order"))?;
        self.page = 1;
        self.reload()
    }

    #[event_handler]
    #[permission_required("contacts.view")]
    fn page(&mut self, to: u32) -> Result<()> {
        self.page = to.clamp(1, self.page_count());
        self.confirm = None;
        self.reload()
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
    fn delete(&mut self, id: i64) -> Result<()> {
        if self.confirm != Some(id) {
            return Err(Error::bad_request("confirm the deletion first"));
        }
        self.confirm = None;
        if self._db.expose().delete(id).map_err(db_error)? {
            self.notice = Some("Contact deleted.".to_owned());
        }
        self.reload()
    }
}

/// Validates the form; errors are keyed by field name.
pub fn validate(input: &ContactInput) -> BTreeMap<&'static str, String> {
    let mut errors = BTreeMap::new();
    let name_len = input.name.chars().count();
    if name_len == 0 {
        errors.insert("name", "Name is required.".to_owned());
    } else if name_len > 100 {
        errors.insert("name", "Name must be at most 100 characters.".to_owned());
    }
    if !input.email.is_empty() {
        let valid = input.email.len() <= 254
            && input.email.split_once('@').is_some_and(|(user, host)| {
                !user.is_empty() && host.contains('.') && !host.contains('@')
            })
            && !input
                .email
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            errors.insert(
                "email",
                "Enter a valid email address, like ada@example.com.".to_owned(),
            );
        }
    }
    if input.phone.chars().count() > 40
        || !input
            .phone
            .chars()
            .all(|c| c.is_ascii_digit() || " +()-.".contains(c))
    {
        errors.insert(
            "phone",
            "Phone numbers may contain digits, spaces and + ( ) - . only.".to_owned(),
        );
    }
    if !input.website.is_empty() {
        let lower = input.website.to_ascii_lowercase();
        let valid = (lower.starts_with("https://") || lower.starts_with("http://"))
            && input.website.len() <= 300
            && !input
                .website
                .chars()
                .any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            errors.insert(
                "website",
                "The website must be an http:// or https:// address.".to_owned(),
            );
        }
    }
    if input.notes.chars().count() > 2000 {
        errors.insert("notes", "Notes must be at most 2000 characters.".to_owned());
    }
    errors
}

/// `/contacts/edit` (`?id=N` edits, no id adds), with an optional photo.
pub struct ContactEditor {
    id: Option<i64>,
    form: ContactInput,
    has_photo: bool,
    errors: BTreeMap<&'static str, String>,
    _db: Private<Arc<Db>>,
}

impl ContactEditor {
    fn error(&self, field: &str) -> Option<&String> {
        self.errors.get(field)
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
        let id = match ctx.query("id") {
            Some(raw) => Some(raw.parse::<i64>().map_err(|_| Error::not_found())?),
            None => None,
        };
        let (form, has_photo) = match id {
            Some(id) => {
                let contact = db.get(id).map_err(db_error)?.ok_or_else(Error::not_found)?;
                let form = ContactInput {
                    name: contact.name,
                    email: contact.email,
                    phone: contact.phone,
                    website: contact.website,
                    notes: contact.notes,
                };
                (form, contact.has_photo)
            }
            None => (ContactInput::default(), false),
        };
        Ok(ContactEditor {
            id,
            form,
            has_photo,
            errors: BTreeMap::new(),
            _db: Private::new(db),
        })
    }

    fn render(&self) -> Html {
        html! {
            <h1>if self.id.is_some() { "Edit contact" } else { "Add contact" }</h1>
            <form class="stack" id="contact-form" dj-submit="save" novalidate>
                <label>"Name" <input name="name" id="name" value={self.form.name} maxlength="100"></label>
                if let Some(error) = self.error("name") { <p class="error" id="error-name">{error}</p> }
                <label>"Email" <input name="email" id="email" type="email" value={self.form.email}></label>
                if let Some(error) = self.error("email") { <p class="error" id="error-email">{error}</p> }
                <label>"Phone" <input name="phone" id="phone" value={self.form.phone}></label>
                if let Some(error) = self.error("phone") { <p class="error" id="error-phone">{error}</p> }
                <label>"Website" <input name="website" id="website" value={self.form.website}></label>
                if let Some(error) = self.error("website") { <p class="error" id="error-website">{error}</p> }
                <label>"Notes" <textarea name="notes" id="notes" rows="4">{self.form.notes}</textarea></label>
                if let Some(error) = self.error("notes") { <p class="error" id="error-notes">{error}</p> }
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
                    <button type="submit" id="save">"Save"</button>
                    <a href="/">"Cancel"</a>
                </div>
            </form>
        }
    }

    #[event_handler]
    #[rate_limit(rate = 2, burst = 5)]
    #[permission_required("contacts.change")]
    fn save(
        &mut self,
        ctx: &mut EventCtx,
        name: String,
        #[default(String::new())] email: String,
        #[default(String::new())] phone: String,
        #[default(String::new())] website: String,
        #[default(String::new())] notes: String,
    ) -> Result<()> {
        self.form = ContactInput {
            name: name.trim().to_owned(),
            email: email.trim().to_owned(),
            phone: phone.trim().to_owned(),
            website: website.trim().to_owned(),
            notes,
        };
        self.errors = validate(&self.form);
        if !self.errors.is_empty() {
            return Ok(());
        }
        let id = match self.id {
            Some(id) => {
                if !self._db.expose().update(id, &self.form).map_err(db_error)? {
                    return Err(Error::not_found());
                }
                id
            }
            None => self._db.expose().insert(&self.form).map_err(db_error)?,
        };
        // The photo, if one was uploaded: its type is what its bytes proved.
        let db = self._db.expose();
        ctx.consume_uploads("photo", |file, path| {
            let bytes = std::fs::read(path).map_err(|e| Error::msg(e.to_string()))?;
            db.set_photo(id, file.mime, &bytes).map_err(db_error)
        })?;
        ctx.redirect("/?saved=1")
    }
}
