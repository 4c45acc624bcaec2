//! The sandbox's authorization servers' state: codes, access tokens and refresh-token
//! grants of every issuer (Meta, Google, LinkedIn) in one book, so revoking a user or
//! expiring their tokens reaches them all; and the rules of RFC 6749, RFC 7636 (PKCE) and
//! RFC 9700 (rotation with reuse detection), tuned per issuer by a [`TokenPolicy`].
//!
//! Pure bookkeeping over an injected `now` (unix seconds), so the rules are unit tested
//! without HTTP.

use std::collections::{BTreeSet, HashMap};

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::settings::SandboxSettings;

/// Authorization codes are valid this long (RFC 6749 §4.1.2 recommends at most 10 minutes).
const CODE_TTL_SECS: i64 = 600;

/// Why the platform invalidated a user's tokens; each maps to Graph's code 190 subcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevokeReason {
    /// The user changed their password (subcode 460).
    PasswordChanged,
    /// The user removed the app (subcode 458).
    AppRemoved,
    /// The session expired (subcode 463).
    Expired,
    /// The user must log in on facebook.com to clear a checkpoint (subcode 459).
    Checkpoint,
    /// The user is not confirmed (subcode 464).
    UnconfirmedUser,
}

impl RevokeReason {
    /// Every reason, for error messages.
    pub const ALL: [RevokeReason; 5] = [
        Self::PasswordChanged,
        Self::AppRemoved,
        Self::Expired,
        Self::Checkpoint,
        Self::UnconfirmedUser,
    ];

    /// The control API's name.
    pub fn name(self) -> &'static str {
        match self {
            Self::PasswordChanged => "password_changed",
            Self::AppRemoved => "app_removed",
            Self::Expired => "expired",
            Self::Checkpoint => "checkpoint",
            Self::UnconfirmedUser => "unconfirmed_user",
        }
    }

    /// Parses a control API name.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|r| r.name() == name)
    }

    /// Graph's `error_subcode` for a token invalidated this way.
    pub fn subcode(self) -> i64 {
        match self {
            Self::PasswordChanged => 460,
            Self::AppRemoved => 458,
            Self::Expired => 463,
            Self::Checkpoint => 459,
            Self::UnconfirmedUser => 464,
        }
    }

    /// Graph's message for an API call made with such a token.
    pub fn graph_message(self, user: &str, client_id: &str) -> String {
        match self {
            Self::PasswordChanged => "Error validating access token: The session has been invalidated because the user changed their password or Facebook has changed the session for security reasons.".into(),
            Self::AppRemoved => format!("Error validating access token: The user has not authorized application {client_id}."),
            Self::Expired => "Error validating access token: The session has expired.".into(),
            Self::Checkpoint => "Error validating access token: You cannot access the app till you log in to www.facebook.com and follow the instructions given.".into(),
            Self::UnconfirmedUser => format!("Error validating access token: Sessions for the user {user} are not allowed because the user is not a confirmed user."),
        }
    }

    /// The `error_description` of an `invalid_grant` for a refresh token revoked this way.
    pub fn grant_description(self) -> &'static str {
        match self {
            Self::PasswordChanged => "The refresh token was revoked because the user changed their password.",
            Self::AppRemoved => "The refresh token was revoked because the user removed the app.",
            Self::Expired => "The refresh token has expired.",
            Self::Checkpoint => {
                "The refresh token was revoked: the user must log in to the platform to clear a security checkpoint."
            }
            Self::UnconfirmedUser => "The refresh token was revoked because the user is not confirmed.",
        }
    }
}

/// Why an access token was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccessDenied {
    /// Missing from the request.
    Missing,
    /// Never issued (or garbled).
    Unknown,
    /// Past its expiry (unix seconds).
    Expired {
        /// When it expired.
        at: i64,
    },
    /// Invalidated by a revocation.
    Revoked {
        /// Why.
        reason: RevokeReason,
        /// Whose token it was.
        user: String,
        /// Which app it was issued to.
        client_id: String,
    },
}

/// The holder of a valid access token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Grantee {
    /// The authorization server that issued the token.
    pub issuer: Issuer,
    /// Sandbox user name.
    pub user: String,
    /// OAuth client the token was issued to.
    pub client_id: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// Expiry (unix seconds).
    pub expires_at: i64,
}

/// A token endpoint error (RFC 6749 §5.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GrantError {
    /// `error` code, e.g. `invalid_grant`.
    pub error: &'static str,
    /// `error_description`.
    pub description: String,
}

impl GrantError {
    /// The grant (code or refresh token) is invalid, expired, revoked or not this client's.
    pub fn invalid_grant(description: impl Into<String>) -> Self {
        Self::new("invalid_grant", description)
    }

    /// Any other RFC 6749 §5.2 error.
    pub fn new(error: &'static str, description: impl Into<String>) -> Self {
        Self {
            error,
            description: description.into(),
        }
    }
}

/// Why the book refused a code or refresh token. Each issuer words these its own way; the
/// [`GrantError`] conversion is the plain RFC 6749 wording Meta's endpoint answers with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GrantRefusal {
    /// The code was never issued (by this issuer) or was already used.
    CodeUnknown,
    /// The code is older than its lifetime.
    CodeExpired,
    /// The code was issued to another client.
    CodeOfOtherClient,
    /// `redirect_uri` differs from the authorization request's.
    RedirectMismatch,
    /// The authorization request had a PKCE challenge and the token request no verifier.
    VerifierMissing,
    /// The verifier does not answer the challenge.
    VerifierMismatch,
    /// The refresh token was never issued (by this issuer).
    RefreshUnknown,
    /// The refresh token was issued to another client.
    RefreshOfOtherClient,
    /// The refresh token was revoked.
    RefreshRevoked(RevokeReason),
    /// A rotated refresh token came back after the grace: the whole grant is now revoked.
    RefreshReused,
    /// The refresh token outlived its fixed lifetime.
    RefreshExpired,
    /// The refresh token was unused for longer than the idle limit.
    RefreshIdle,
}

impl From<GrantRefusal> for GrantError {
    fn from(refusal: GrantRefusal) -> Self {
        use GrantRefusal::*;
        let description = match refusal {
            CodeUnknown => "The authorization code is invalid or was already used.",
            CodeExpired => "The authorization code has expired.",
            CodeOfOtherClient => "The authorization code was issued to another client.",
            RedirectMismatch => "redirect_uri does not match the one used in the authorization request.",
            VerifierMissing => "code_verifier is required (PKCE).",
            VerifierMismatch => "code_verifier does not match the code_challenge.",
            RefreshUnknown => "The refresh token is invalid.",
            RefreshOfOtherClient => "The refresh token was issued to another client.",
            RefreshRevoked(reason) => reason.grant_description(),
            RefreshReused => "The refresh token was already used. Every token of this grant has been revoked because reuse suggests it was stolen.",
            RefreshExpired => "The refresh token has expired.",
            RefreshIdle => "The refresh token expired because it was not used for too long.",
        };
        GrantError::invalid_grant(description)
    }
}

/// Which authorization server issued a code or token. A code or refresh token is only good
/// at the server that issued it; API handlers may also check an access token's issuer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Issuer {
    /// Meta's `/dialog/oauth` and `/oauth/access_token`.
    Meta,
    /// Google's `/o/oauth2/v2/auth` and `/token`.
    Google,
    /// LinkedIn's `/oauth/v2/authorization` and `/oauth/v2/accessToken`.
    Linkedin,
}

/// What a `refresh_token` grant does to the refresh token it was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renewal {
    /// It stays valid and is not sent again (Google; Meta without rotation).
    Keep,
    /// It stays valid and is sent again with its remaining lifetime (LinkedIn).
    Repeat,
    /// A new one replaces it; the old one works for `reuse_grace_secs` more, after which
    /// presenting it revokes the whole grant (RFC 9700 §4.14).
    Rotate {
        /// How long a replaced token keeps working (Okta's "grace period").
        reuse_grace_secs: u64,
    },
}

/// How one issuer's tokens live and renew: each authorization server hands its own policy to
/// the book, so tokens of all issuers share one book (and the control API) but keep their
/// platform's documented rules.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPolicy {
    /// The server whose codes and refresh tokens these rules govern.
    pub issuer: Issuer,
    /// Lifetime of each access token.
    pub access_ttl_secs: u64,
    /// Refresh tokens die this long after they were issued (a rotated token is issued
    /// anew); `None` means never.
    pub refresh_ttl_secs: Option<u64>,
    /// Grants whose every scope is in this list escape `refresh_ttl_secs` (Google's
    /// testing-mode expiry spares sign-in-only grants).
    pub refresh_ttl_exempt_scopes: &'static [&'static str],
    /// Refresh tokens die after this long unused; `None` means never.
    pub refresh_idle_secs: Option<u64>,
    /// What refreshing does to the refresh token.
    pub renewal: Renewal,
    /// A new grant with another scope set invalidates the user's earlier access tokens for
    /// the client (LinkedIn); they then read as never issued.
    pub rescoping_invalidates_access: bool,
    /// Prefix of access tokens, so a token's issuer shows in logs (`EAA`, `ya29.`, …).
    pub access_prefix: &'static str,
    /// Prefix of refresh tokens.
    pub refresh_prefix: &'static str,
}

/// How long refresh tokens of an app in testing mode live (Google: 7 days).
const TESTING_REFRESH_TOKEN_TTL_SECS: u64 = 7 * 86_400;
/// Scopes of a sign-in-only grant, which testing mode's 7-day expiry spares.
const SIGN_IN_SCOPES: &[&str] = &[
    "openid",
    "email",
    "profile",
    "https://www.googleapis.com/auth/userinfo.email",
    "https://www.googleapis.com/auth/userinfo.profile",
];
impl TokenPolicy {
    /// Google's rules under its authorization server's settings.
    pub fn google(settings: &crate::settings::google_oauth::Settings) -> Self {
        Self {
            issuer: Issuer::Google,
            access_ttl_secs: settings.access_token_ttl_secs,
            refresh_ttl_secs: settings.testing_mode.then_some(TESTING_REFRESH_TOKEN_TTL_SECS),
            refresh_ttl_exempt_scopes: SIGN_IN_SCOPES,
            refresh_idle_secs: Some(settings.refresh_token_idle_secs),
            renewal: Renewal::Keep,
            rescoping_invalidates_access: false,
            access_prefix: "ya29.",
            refresh_prefix: "1//",
        }
    }

    /// LinkedIn's rules under its authorization server's settings.
    pub fn linkedin(settings: &crate::settings::linkedin_oauth::Settings) -> Self {
        Self {
            issuer: Issuer::Linkedin,
            access_ttl_secs: settings.access_token_ttl_secs,
            refresh_ttl_secs: Some(settings.refresh_token_ttl_secs),
            refresh_ttl_exempt_scopes: &[],
            refresh_idle_secs: None,
            renewal: Renewal::Repeat,
            rescoping_invalidates_access: true,
            access_prefix: "AQV",
            refresh_prefix: "AQW",
        }
    }

    /// Meta's rules, from the global sandbox settings (which predate the other issuers).
    pub fn meta(settings: &SandboxSettings) -> Self {
        Self {
            issuer: Issuer::Meta,
            access_ttl_secs: settings.access_token_ttl_secs,
            refresh_ttl_secs: settings.refresh_token_ttl_secs,
            refresh_ttl_exempt_scopes: &[],
            refresh_idle_secs: settings.refresh_token_idle_secs,
            renewal: if settings.rotate_refresh_tokens {
                Renewal::Rotate {
                    reuse_grace_secs: settings.refresh_token_reuse_grace_secs,
                }
            } else {
                Renewal::Keep
            },
            rescoping_invalidates_access: false,
            access_prefix: "EAA",
            refresh_prefix: "rt.",
        }
    }

    /// Meta's rules for the `fb_exchange_token` grant: access tokens get the long-lived
    /// lifetime.
    pub fn meta_long_lived(settings: &SandboxSettings) -> Self {
        Self {
            access_ttl_secs: settings.long_lived_token_ttl_secs,
            ..Self::meta(settings)
        }
    }

    /// When a refresh token of `grant` stops working by age, if it ever does.
    fn refresh_deadline(&self, grant: &RefreshGrant) -> Option<i64> {
        let exempt = !grant.scopes.is_empty()
            && grant
                .scopes
                .iter()
                .all(|s| self.refresh_ttl_exempt_scopes.contains(&s.as_str()));
        let ttl = self.refresh_ttl_secs.filter(|_| !exempt)?;
        Some(grant.issued_at.saturating_add(ttl as i64))
    }

    /// Why `grant` no longer refreshes at `now`, judged by age and idleness.
    fn staleness(&self, grant: &RefreshGrant, now: i64) -> Option<GrantRefusal> {
        if self.refresh_deadline(grant).is_some_and(|deadline| deadline <= now) {
            return Some(GrantRefusal::RefreshExpired);
        }
        let idle = self
            .refresh_idle_secs
            .is_some_and(|idle| grant.last_used_at.saturating_add(idle as i64) <= now);
        idle.then_some(GrantRefusal::RefreshIdle)
    }
}

/// A successful token response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issued {
    /// New access token.
    pub access_token: String,
    /// Its lifetime in seconds.
    pub expires_in: u64,
    /// A refresh token, when one is in the response (first grant, rotation, or LinkedIn's
    /// repeat of the same token).
    pub refresh_token: Option<String>,
    /// The refresh token's remaining lifetime in seconds, when it is in the response and
    /// has a fixed lifetime.
    pub refresh_token_expires_in: Option<u64>,
    /// The scopes the access token carries, exactly as granted.
    pub scopes: Vec<String>,
}

/// What an authorization code request carried, bound to the code.
#[derive(Debug, Clone)]
pub struct CodeRequest {
    /// The server that issued the code; only its token endpoint takes it.
    pub issuer: Issuer,
    /// Client the code is for.
    pub client_id: String,
    /// The exact redirect URI the token request must repeat.
    pub redirect_uri: String,
    /// Approving user.
    pub user: String,
    /// Granted scopes.
    pub scopes: Vec<String>,
    /// PKCE challenge and method (`S256` or `plain`), when sent.
    pub challenge: Option<(String, String)>,
    /// Whether the exchange also yields a refresh token (Google: only for `offline` access,
    /// and again only on `prompt=consent`).
    pub with_refresh_token: bool,
}

#[derive(Debug)]
struct Code {
    request: CodeRequest,
    expires_at: i64,
}

#[derive(Debug)]
struct AccessToken {
    grantee: Grantee,
    /// The refresh-token family it came from, so reuse detection can revoke it too.
    family: u64,
    revoked: Option<RevokeReason>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RefreshState {
    Active,
    /// Replaced by rotation at this time; presenting it again is reuse (after the grace).
    Rotated(i64),
    Revoked(RevokeReason),
}

#[derive(Debug)]
struct RefreshGrant {
    issuer: Issuer,
    user: String,
    client_id: String,
    scopes: Vec<String>,
    /// All refresh tokens descending from one authorization share a family.
    family: u64,
    state: RefreshState,
    issued_at: i64,
    last_used_at: i64,
}

/// Every code and token the sandbox has issued, for every issuer.
#[derive(Debug, Default)]
pub struct TokenBook {
    codes: HashMap<String, Code>,
    access: HashMap<String, AccessToken>,
    refresh: HashMap<String, RefreshGrant>,
    next_family: u64,
}

impl TokenBook {
    /// Every access and refresh token ever issued, live or not, so a soak can look for
    /// them where they must never appear.
    pub fn issued(&self) -> Vec<String> {
        self.access.keys().chain(self.refresh.keys()).cloned().collect()
    }

    /// Issues a single-use authorization code for an approved request.
    pub fn issue_code(&mut self, request: CodeRequest, now: i64) -> String {
        let code = random_token("AQ");
        self.codes.insert(
            code.clone(),
            Code {
                request,
                expires_at: now + CODE_TTL_SECS,
            },
        );
        code
    }

    /// Whether `user` already holds a working refresh token of `policy`'s issuer for
    /// `client_id` (Google then issues another only on `prompt=consent`).
    pub fn has_refresh_grant(&self, user: &str, client_id: &str, policy: &TokenPolicy, now: i64) -> bool {
        self.refresh.values().any(|grant| {
            grant.issuer == policy.issuer
                && grant.user == user
                && grant.client_id == client_id
                && grant.state == RefreshState::Active
                && policy.staleness(grant, now).is_none()
        })
    }

    /// Every scope `user` granted `client_id` at `issuer` and did not lose to a revocation,
    /// sorted: what Google's incremental authorization adds to a new grant.
    pub fn granted_scopes(&self, user: &str, client_id: &str, issuer: Issuer) -> BTreeSet<String> {
        let of_access = self.access.values().filter(|t| t.revoked.is_none()).map(|t| {
            (
                &t.grantee.issuer,
                &t.grantee.user,
                &t.grantee.client_id,
                &t.grantee.scopes,
            )
        });
        let of_refresh = self
            .refresh
            .values()
            .filter(|g| !matches!(g.state, RefreshState::Revoked(_)))
            .map(|g| (&g.issuer, &g.user, &g.client_id, &g.scopes));
        of_access
            .chain(of_refresh)
            .filter(|(i, u, c, _)| **i == issuer && *u == user && *c == client_id)
            .flat_map(|(_, _, _, scopes)| scopes.iter().cloned())
            .collect()
    }

    /// The `authorization_code` grant: checks issuer, client, redirect URI and PKCE verifier.
    pub fn exchange_code(
        &mut self,
        client_id: &str,
        code: &str,
        redirect_uri: Option<&str>,
        verifier: Option<&str>,
        policy: &TokenPolicy,
        now: i64,
    ) -> Result<Issued, GrantRefusal> {
        // A code belongs to the server that issued it; another server never saw it.
        if self.codes.get(code).is_some_and(|c| c.request.issuer != policy.issuer) {
            return Err(GrantRefusal::CodeUnknown);
        }
        // Codes are single use whatever the outcome (RFC 6749 §4.1.2).
        let Some(Code { request, expires_at }) = self.codes.remove(code) else {
            return Err(GrantRefusal::CodeUnknown);
        };
        if expires_at <= now {
            return Err(GrantRefusal::CodeExpired);
        }
        if request.client_id != client_id {
            return Err(GrantRefusal::CodeOfOtherClient);
        }
        if redirect_uri != Some(request.redirect_uri.as_str()) {
            return Err(GrantRefusal::RedirectMismatch);
        }
        if let Some((challenge, method)) = &request.challenge {
            let verifier = verifier.ok_or(GrantRefusal::VerifierMissing)?;
            if !pkce_matches(verifier, challenge, method) {
                return Err(GrantRefusal::VerifierMismatch);
            }
        }
        if policy.rescoping_invalidates_access {
            self.access.retain(|_, token| {
                let grantee = &token.grantee;
                grantee.issuer != policy.issuer
                    || grantee.user != request.user
                    || grantee.client_id != client_id
                    || grantee.scopes == request.scopes
            });
        }
        let holder = Holder {
            user: &request.user,
            client_id,
            scopes: &request.scopes,
            family: self.next_family,
        };
        self.next_family += 1;
        let refresh_token = request
            .with_refresh_token
            .then(|| self.new_refresh(&holder, policy, now));
        let refresh_token_expires_in = refresh_token
            .as_ref()
            .and_then(|token| self.remaining_life(token, policy, now));
        let (access_token, expires_in) = self.new_access(&holder, policy, now);
        Ok(Issued {
            access_token,
            expires_in,
            refresh_token,
            refresh_token_expires_in,
            scopes: request.scopes,
        })
    }

    /// The `refresh_token` grant, renewing the refresh token as `policy` says (with reuse
    /// detection when it rotates).
    pub fn refresh(
        &mut self,
        client_id: &str,
        refresh_token: &str,
        policy: &TokenPolicy,
        now: i64,
    ) -> Result<Issued, GrantRefusal> {
        let Some(grant) = self
            .refresh
            .get_mut(refresh_token)
            .filter(|grant| grant.issuer == policy.issuer)
        else {
            return Err(GrantRefusal::RefreshUnknown);
        };
        if grant.client_id != client_id {
            return Err(GrantRefusal::RefreshOfOtherClient);
        }
        let grace = match policy.renewal {
            Renewal::Rotate { reuse_grace_secs } => reuse_grace_secs as i64,
            Renewal::Keep | Renewal::Repeat => 0,
        };
        let rotated_at = match grant.state {
            RefreshState::Revoked(reason) => return Err(GrantRefusal::RefreshRevoked(reason)),
            // Within the grace period a rotated token still works (Okta, Auth0 allow this so
            // a client that crashed before saving the new token can recover).
            RefreshState::Rotated(at) if now - at < grace => Some(at),
            RefreshState::Rotated(_) => {
                let family = grant.family;
                self.revoke_family(family);
                return Err(GrantRefusal::RefreshReused);
            }
            RefreshState::Active => None,
        };
        if let Some(stale) = policy.staleness(grant, now) {
            grant.state = RefreshState::Revoked(RevokeReason::Expired);
            return Err(stale);
        }
        grant.last_used_at = now;
        let (user, scopes) = (grant.user.clone(), grant.scopes.clone());
        let holder = Holder {
            user: &user,
            client_id,
            scopes: &scopes,
            family: grant.family,
        };
        let refresh_token = match policy.renewal {
            Renewal::Keep => None,
            Renewal::Repeat => Some(refresh_token.to_string()),
            Renewal::Rotate { .. } => {
                grant.state = RefreshState::Rotated(rotated_at.unwrap_or(now));
                Some(self.new_refresh(&holder, policy, now))
            }
        };
        let refresh_token_expires_in = refresh_token
            .as_ref()
            .and_then(|token| self.remaining_life(token, policy, now));
        let (access_token, expires_in) = self.new_access(&holder, policy, now);
        Ok(Issued {
            access_token,
            expires_in,
            refresh_token,
            refresh_token_expires_in,
            scopes,
        })
    }

    /// Meta's `fb_exchange_token` grant: a valid short-lived token of `policy`'s issuer
    /// becomes one living `policy.access_ttl_secs` (the long-lived lifetime).
    pub fn exchange_long_lived(
        &mut self,
        client_id: &str,
        token: &str,
        policy: &TokenPolicy,
        now: i64,
    ) -> Result<Issued, GrantError> {
        let grantee = self
            .check_access(Some(token), now)
            .ok()
            .filter(|grantee| grantee.issuer == policy.issuer)
            .ok_or_else(|| GrantError::invalid_grant("fb_exchange_token is not a valid access token."))?;
        if grantee.client_id != client_id {
            return Err(GrantError::invalid_grant(
                "fb_exchange_token was issued to another app.",
            ));
        }
        let holder = Holder {
            user: &grantee.user,
            client_id,
            scopes: &grantee.scopes,
            family: self.access[token].family,
        };
        let (access_token, expires_in) = self.new_access(&holder, policy, now);
        Ok(Issued {
            access_token,
            expires_in,
            refresh_token: None,
            refresh_token_expires_in: None,
            scopes: grantee.scopes,
        })
    }

    /// An access token with no refresh token and no consent behind it: Google's JWT-bearer
    /// grant, where a service account's signed assertion stands in for the approval.
    pub fn issue_access(
        &mut self,
        user: &str,
        client_id: &str,
        scopes: &[String],
        policy: &TokenPolicy,
        now: i64,
    ) -> Issued {
        let holder = Holder {
            user,
            client_id,
            scopes,
            family: self.next_family,
        };
        self.next_family += 1;
        let (access_token, expires_in) = self.new_access(&holder, policy, now);
        Issued {
            access_token,
            expires_in,
            refresh_token: None,
            refresh_token_expires_in: None,
            scopes: scopes.to_vec(),
        }
    }

    /// Who holds `token`, or why it is refused.
    pub fn check_access(&self, token: Option<&str>, now: i64) -> Result<Grantee, AccessDenied> {
        let token = token.ok_or(AccessDenied::Missing)?;
        let access = self.access.get(token).ok_or(AccessDenied::Unknown)?;
        if let Some(reason) = access.revoked {
            return Err(AccessDenied::Revoked {
                reason,
                user: access.grantee.user.clone(),
                client_id: access.grantee.client_id.clone(),
            });
        }
        if access.grantee.expires_at <= now {
            return Err(AccessDenied::Expired {
                at: access.grantee.expires_at,
            });
        }
        Ok(access.grantee.clone())
    }

    /// Invalidates every token of `user`, of every issuer; returns (access tokens, refresh
    /// tokens) revoked.
    pub fn revoke_user(&mut self, user: &str, reason: RevokeReason) -> (usize, usize) {
        let mut access = 0;
        for token in self
            .access
            .values_mut()
            .filter(|t| t.grantee.user == user && t.revoked.is_none())
        {
            token.revoked = Some(reason);
            access += 1;
        }
        let mut refresh = 0;
        for grant in self
            .refresh
            .values_mut()
            .filter(|g| g.user == user && g.state == RefreshState::Active)
        {
            grant.state = RefreshState::Revoked(reason);
            refresh += 1;
        }
        (access, refresh)
    }

    /// Makes every access token of `user` (of every issuer) expired now, leaving refresh
    /// tokens valid.
    pub fn expire_access(&mut self, user: &str, now: i64) -> usize {
        let mut expired = 0;
        for token in self.access.values_mut().filter(|t| t.grantee.user == user) {
            if token.grantee.expires_at > now {
                token.grantee.expires_at = now;
                expired += 1;
            }
        }
        expired
    }

    fn revoke_family(&mut self, family: u64) {
        for grant in self.refresh.values_mut().filter(|g| g.family == family) {
            grant.state = RefreshState::Revoked(RevokeReason::Expired);
        }
        for token in self.access.values_mut().filter(|t| t.family == family) {
            token.revoked.get_or_insert(RevokeReason::Expired);
        }
    }

    /// Seconds until `refresh_token` dies by age, when it has a fixed lifetime.
    fn remaining_life(&self, refresh_token: &str, policy: &TokenPolicy, now: i64) -> Option<u64> {
        let deadline = policy.refresh_deadline(self.refresh.get(refresh_token)?)?;
        Some(deadline.saturating_sub(now).max(0) as u64)
    }

    fn new_access(&mut self, holder: &Holder, policy: &TokenPolicy, now: i64) -> (String, u64) {
        let token = random_token(policy.access_prefix);
        self.access.insert(
            token.clone(),
            AccessToken {
                grantee: Grantee {
                    issuer: policy.issuer,
                    user: holder.user.to_string(),
                    client_id: holder.client_id.to_string(),
                    scopes: holder.scopes.to_vec(),
                    expires_at: now + policy.access_ttl_secs as i64,
                },
                family: holder.family,
                revoked: None,
            },
        );
        (token, policy.access_ttl_secs)
    }

    fn new_refresh(&mut self, holder: &Holder, policy: &TokenPolicy, now: i64) -> String {
        let token = random_token(policy.refresh_prefix);
        self.refresh.insert(
            token.clone(),
            RefreshGrant {
                issuer: policy.issuer,
                user: holder.user.to_string(),
                client_id: holder.client_id.to_string(),
                scopes: holder.scopes.to_vec(),
                family: holder.family,
                state: RefreshState::Active,
                issued_at: now,
                last_used_at: now,
            },
        );
        token
    }
}

/// Whom new tokens are for, and the grant family they join.
struct Holder<'a> {
    user: &'a str,
    client_id: &'a str,
    scopes: &'a [String],
    family: u64,
}

/// RFC 7636 §4.6: does `verifier` answer `challenge`?
fn pkce_matches(verifier: &str, challenge: &str, method: &str) -> bool {
    match method {
        "S256" => URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes())) == challenge,
        "plain" => verifier == challenge,
        _ => false,
    }
}

/// An unguessable token with a recognisable prefix.
fn random_token(prefix: &str) -> String {
    let mut bytes = [0u8; 32];
    rand::thread_rng().fill_bytes(&mut bytes);
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000;

    fn approved(book: &mut TokenBook, verifier: &str) -> String {
        let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
        book.issue_code(
            CodeRequest {
                issuer: Issuer::Meta,
                client_id: "app".into(),
                redirect_uri: "http://127.0.0.1/cb".into(),
                user: "ann".into(),
                scopes: vec!["ads_read".into()],
                challenge: Some((challenge, "S256".into())),
                with_refresh_token: true,
            },
            NOW,
        )
    }

    fn connected(settings: &SandboxSettings) -> (TokenBook, Issued) {
        let mut book = TokenBook::default();
        let code = approved(&mut book, "v".repeat(43).as_str());
        let issued = book
            .exchange_code(
                "app",
                &code,
                Some("http://127.0.0.1/cb"),
                Some(&"v".repeat(43)),
                &TokenPolicy::meta(settings),
                NOW,
            )
            .unwrap();
        (book, issued)
    }

    #[test]
    fn code_exchange_checks_pkce_and_is_single_use() {
        let settings = SandboxSettings::default();
        let mut book = TokenBook::default();
        let code = approved(&mut book, &"v".repeat(43));
        let wrong = book.exchange_code(
            "app",
            &code,
            Some("http://127.0.0.1/cb"),
            Some(&"w".repeat(43)),
            &TokenPolicy::meta(&settings),
            NOW,
        );
        assert_eq!(
            wrong.map_err(GrantError::from).unwrap_err().description,
            "code_verifier does not match the code_challenge."
        );
        // The failed attempt consumed the code.
        let again = book.exchange_code(
            "app",
            &code,
            Some("http://127.0.0.1/cb"),
            Some(&"v".repeat(43)),
            &TokenPolicy::meta(&settings),
            NOW,
        );
        assert_eq!(again.map_err(GrantError::from).unwrap_err().error, "invalid_grant");
    }

    #[test]
    fn redirect_uri_must_match_exactly() {
        let settings = SandboxSettings::default();
        let mut book = TokenBook::default();
        let code = approved(&mut book, &"v".repeat(43));
        let error = book
            .exchange_code(
                "app",
                &code,
                Some("http://127.0.0.1/cb/"),
                Some(&"v".repeat(43)),
                &TokenPolicy::meta(&settings),
                NOW,
            )
            .map_err(GrantError::from)
            .unwrap_err();
        assert!(error.description.contains("redirect_uri"));
    }

    #[test]
    fn access_tokens_expire_and_refresh_without_rotation_keeps_the_refresh_token() {
        let settings = SandboxSettings::default();
        let (mut book, issued) = connected(&settings);
        let grantee = book.check_access(Some(&issued.access_token), NOW).unwrap();
        assert_eq!(grantee.user, "ann");
        assert_eq!(
            book.check_access(Some(&issued.access_token), NOW + 3600),
            Err(AccessDenied::Expired { at: NOW + 3600 })
        );
        let refresh = issued.refresh_token.unwrap();
        let renewed = book
            .refresh("app", &refresh, &TokenPolicy::meta(&settings), NOW + 3600)
            .unwrap();
        assert_eq!(renewed.refresh_token, None);
        assert!(book.check_access(Some(&renewed.access_token), NOW + 3600).is_ok());
        assert!(book
            .refresh("app", &refresh, &TokenPolicy::meta(&settings), NOW + 3700)
            .is_ok());
    }

    #[test]
    fn reusing_a_rotated_refresh_token_revokes_the_whole_grant() {
        let settings = SandboxSettings {
            rotate_refresh_tokens: true,
            ..SandboxSettings::default()
        };
        let (mut book, issued) = connected(&settings);
        let first = issued.refresh_token.unwrap();
        let renewed = book.refresh("app", &first, &TokenPolicy::meta(&settings), NOW).unwrap();
        let second = renewed.refresh_token.clone().unwrap();
        assert_ne!(first, second);
        let reuse = book
            .refresh("app", &first, &TokenPolicy::meta(&settings), NOW + 1)
            .map_err(GrantError::from)
            .unwrap_err();
        assert!(reuse.description.contains("already used"));
        assert_eq!(
            book.refresh("app", &second, &TokenPolicy::meta(&settings), NOW)
                .map_err(GrantError::from)
                .unwrap_err()
                .error,
            "invalid_grant"
        );
        assert!(book.check_access(Some(&renewed.access_token), NOW).is_err());
    }

    #[test]
    fn a_rotated_token_still_works_within_the_reuse_grace() {
        let settings = SandboxSettings {
            rotate_refresh_tokens: true,
            refresh_token_reuse_grace_secs: 30,
            ..SandboxSettings::default()
        };
        let (mut book, issued) = connected(&settings);
        let first = issued.refresh_token.unwrap();
        book.refresh("app", &first, &TokenPolicy::meta(&settings), NOW).unwrap();
        assert!(book
            .refresh("app", &first, &TokenPolicy::meta(&settings), NOW + 29)
            .is_ok());
        assert!(book
            .refresh("app", &first, &TokenPolicy::meta(&settings), NOW + 30)
            .is_err());
    }

    #[test]
    fn revoking_a_user_names_the_reason() {
        let settings = SandboxSettings::default();
        let (mut book, issued) = connected(&settings);
        assert_eq!(book.revoke_user("ann", RevokeReason::PasswordChanged), (1, 1));
        assert_eq!(
            book.check_access(Some(&issued.access_token), NOW),
            Err(AccessDenied::Revoked {
                reason: RevokeReason::PasswordChanged,
                user: "ann".into(),
                client_id: "app".into()
            })
        );
        let error = book
            .refresh(
                "app",
                &issued.refresh_token.unwrap(),
                &TokenPolicy::meta(&settings),
                NOW,
            )
            .map_err(GrantError::from)
            .unwrap_err();
        assert!(error.description.contains("changed their password"));
    }

    #[test]
    fn idle_refresh_tokens_go_stale() {
        let settings = SandboxSettings {
            refresh_token_idle_secs: Some(100),
            ..SandboxSettings::default()
        };
        let (mut book, issued) = connected(&settings);
        let error = book
            .refresh(
                "app",
                &issued.refresh_token.unwrap(),
                &TokenPolicy::meta(&settings),
                NOW + 100,
            )
            .map_err(GrantError::from)
            .unwrap_err();
        assert!(error.description.contains("not used for too long"));
    }

    #[test]
    fn long_lived_exchange_needs_a_valid_token_of_the_same_app() {
        let settings = SandboxSettings::default();
        let (mut book, issued) = connected(&settings);
        let long = book
            .exchange_long_lived(
                "app",
                &issued.access_token,
                &TokenPolicy::meta_long_lived(&settings),
                NOW,
            )
            .unwrap();
        assert_eq!(long.expires_in, 5_184_000);
        assert!(book
            .exchange_long_lived("other", &issued.access_token, &TokenPolicy::meta(&settings), NOW)
            .is_err());
    }
}
