//! Logging in against the `users` table: argon2 password hashes, checked
//! off the async runtime, in the same time whether or not the user exists.

use std::sync::Arc;

use djust::runtime::auth::{verify_password_or_dummy, AuthBackend, BoxFuture, User};

use super::db::Db;

/// The app's [`AuthBackend`].
pub struct DbAuth {
    pub db: Arc<Db>,
}

impl AuthBackend for DbAuth {
    fn authenticate<'a>(
        &'a self,
        username: &'a str,
        password: &'a str,
    ) -> BoxFuture<'a, Option<User>> {
        let db = self.db.clone();
        let username = username.to_owned();
        let password = password.to_owned();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || {
                let found = db.user_by_name(&username).ok().flatten();
                let hash = found.as_ref().map(|(_, hash)| hash.as_str());
                let valid = verify_password_or_dummy(&password, hash);
                match found {
                    Some((user, _)) if valid && user.is_active => Some(user),
                    _ => None,
                }
            })
            .await
            .ok()
            .flatten()
        })
    }

    fn load_user<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<User>> {
        let user = self.db.user_by_id(id).ok().flatten();
        Box::pin(async move { user })
    }
}
