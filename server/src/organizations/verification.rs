//! Recognising the mail AWS sends to an account's *new* root email after
//! `StartPrimaryEmailUpdate`, and reading its one-time code, with no I/O. The root email
//! change jobs (#17) use it to finish a change without a human; the code must then never be
//! forwarded, logged or kept.
//!
//! What the mail looks like (docs/design/organizations-research.md §2): subject "Verify the
//! new email address for the AWS account root user"; its text says "… please use the following
//! code to verify your email address: 123456." The sender of the Organizations flow is not
//! documented (the console flow's is `no-reply@verify.signin.aws`), so the sender is matched by
//! domain, configurable, and only when SES authenticated it.

/// The code's shape in the Account API's model: `^[a-zA-Z0-9]{6}$`.
pub const CODE_LEN: usize = 6;

/// What a verification mail is recognised by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recogniser {
    /// The subject, compared whole, in any case, spaces collapsed.
    pub subject: String,
    /// The domains the mail may come from, lower-cased, compared exactly: a parent domain
    /// would let anybody who can send from one of its subdomains (an EC2 host's name under
    /// amazonaws.com) pass for AWS.
    pub sender_domains: Vec<String>,
}

impl Default for Recogniser {
    fn default() -> Self {
        Recogniser {
            subject: crate::config::DEFAULT_VERIFY_SUBJECT.into(),
            sender_domains: crate::config::DEFAULT_VERIFY_SENDERS
                .iter()
                .map(|d| d.to_string())
                .collect(),
        }
    }
}

fn collapse(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl Recogniser {
    /// Whether a mail from `sender_domain` (a domain SES authenticated) with `subject` is
    /// AWS's verification mail.
    pub fn matches(&self, sender_domain: &str, subject: &str) -> bool {
        let domain = sender_domain.trim_end_matches('.').to_ascii_lowercase();
        self.sender_domains.contains(&domain)
            && collapse(subject).eq_ignore_ascii_case(&collapse(&self.subject))
    }
}

/// The one-time code in the mail's text (its plain part, or its HTML part as text): the
/// six letters or digits after "verify your email address:"; failing that phrase, the one
/// code-shaped token with a digit after the first "code". `None` when there is no such token,
/// or two different ones (never guess between two).
pub fn code_in(text: &str) -> Option<String> {
    let flat = collapse(text);
    let lower = flat.to_ascii_lowercase();
    const PHRASE: &str = "verify your email address:";
    let after_phrase: Vec<Option<String>> = lower
        .match_indices(PHRASE)
        .map(|(at, _)| token_at(&flat[at + PHRASE.len()..]))
        .collect();
    if let Some(first) = after_phrase.first() {
        // The phrase twice with two different codes (a quoted older mail?): never guess.
        return match after_phrase.iter().all(|t| t == first) {
            true => first.clone(),
            false => None,
        };
    }
    // Wording changes: a single code-shaped token after the word "code".
    let at = lower.find("code")?;
    let tokens: Vec<String> = flat[at + 4..]
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|t| is_code(t) && t.bytes().any(|b| b.is_ascii_digit()))
        .map(str::to_string)
        .collect();
    match tokens.as_slice() {
        [one] => Some(one.clone()),
        [first, rest @ ..] if rest.iter().all(|t| t == first) => Some(first.clone()),
        _ => None,
    }
}

fn is_code(t: &str) -> bool {
    t.len() == CODE_LEN && t.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The first token after `rest`'s leading spaces, if it has the code's shape.
fn token_at(rest: &str) -> Option<String> {
    let token: String = rest
        .trim_start()
        .chars()
        .take_while(|c| c.is_ascii_alphanumeric())
        .collect();
    is_code(&token).then_some(token)
}

/// `text` with every occurrence of `code` replaced, for whatever of the mail is kept or
/// shown (a log line, an error): the code is a credential.
pub fn redact(text: &str, code: &str) -> String {
    if code.is_empty() {
        return text.to_string();
    }
    text.replace(code, "[one-time code removed]")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body as AWS words it (docs/design/organizations-research.md §2), in the shapes a
    /// mail part takes: plain, wrapped, HTML turned to text.
    #[test]
    fn the_code_is_read_from_each_shape_of_the_mail() {
        for (case, text, want) in [
            (
                "plain",
                "Hello,\n\nAWS received a request to use your email address (new@mail.example.com) as the root user email. To confirm, please use the following code to verify your email address: 482913.\n\nThanks",
                Some("482913"),
            ),
            (
                "wrapped across lines",
                "please use the following code to verify your email\naddress:\n  731004.\n",
                Some("731004"),
            ),
            (
                "letters and digits (the API model allows them)",
                "please use the following code to verify your email address: A1b2C3.",
                Some("A1b2C3"),
            ),
            (
                "other wording, one code",
                "Your verification code is 550192. It expires in 24 hours.",
                Some("550192"),
            ),
            (
                "the phrase with a token of another length",
                "please use the following code to verify your email address: 1234567.",
                None,
            ),
            (
                "two different codes: never guess",
                "Your code is 111111, or was it code 222222?",
                None,
            ),
            (
                "the phrase twice, two codes (a quoted older mail)",
                "verify your email address: 111111. > verify your email address: 222222.",
                None,
            ),
            (
                "the phrase twice, one code",
                "verify your email address: 333333. again: verify your email address: 333333",
                Some("333333"),
            ),
            ("no code at all", "Welcome to Amazon Web Services.", None),
            (
                "words are not codes",
                "Use the code below: please verify.",
                None,
            ),
        ] {
            assert_eq!(code_in(text).as_deref(), want, "case: {case}");
        }
    }

    #[test]
    fn only_an_authenticated_aws_sender_with_the_subject_is_recognised() {
        let r = Recogniser::default();
        let subject = "Verify the new email address for the AWS account root user";
        for (sender, subject, want) in [
            ("verify.signin.aws", subject, true),
            ("signin.aws", subject, true),
            (
                "signin.aws",
                "verify the new  email address for the aws account root user",
                true,
            ),
            ("signin.aws.", subject, true),
            // Parents are not enough: anybody can send from a subdomain of amazonaws.com.
            ("amazonaws.com", subject, false),
            ("ec2-1-2-3-4.compute-1.amazonaws.com", subject, false),
            ("amazon.com", subject, false),
            ("attacker.verify.signin.aws", subject, false),
            ("evilsignin.aws", subject, false),
            ("signin.aws.attacker.example", subject, false),
            ("attacker.example", subject, false),
            (
                "verify.signin.aws",
                "Re: Verify the new email address for the AWS account root user",
                false,
            ),
            ("verify.signin.aws", "Your AWS bill", false),
        ] {
            assert_eq!(r.matches(sender, subject), want, "{sender} / {subject}");
        }
    }

    #[test]
    fn redaction_removes_every_copy() {
        let text = "code 482913, again 482913";
        let out = redact(text, "482913");
        assert!(!out.contains("482913"));
        assert_eq!(out.matches("[one-time code removed]").count(), 2);
        assert_eq!(redact(text, ""), text);
    }
}
