# One AWS account per entry of local.accounts, each created with a root email vended by
# mailvend. Every plan POSTs each request again with the same idempotency key, so mailvend
# answers 200 with the address it vended the first time (201): plans never vend twice.

terraform {
  required_version = ">= 1.4" # terraform_data
  required_providers {
    aws  = { source = "hashicorp/aws", version = ">= 5.0" }
    http = { source = "hashicorp/http", version = ">= 3.4" }
  }
}

variable "mailvend_api" {
  description = "mailvend's API, e.g. https://mailvend.example.com/api/v1"
  type        = string
}

# A vend-scope token (`mailvend token create --name terraform-accounts --scope vend`), kept in
# SSM Parameter Store as a SecureString.
data "aws_ssm_parameter" "mailvend_token" {
  name = "/mailvend/vend-token"
}

locals {
  # The key of each entry is the account request's identity: it is never reused for another
  # account, and never changes for this one.
  accounts = {
    "payments-ledger-prod" = {
      owner         = "payments-platform@corp.example"
      account_type  = "IT"
      business_unit = "Payments"
      application   = "ledger"
      environment   = "prod"
      parent_id     = "ou-abcd-11111111"
    }
  }
}

data "http" "root_email" {
  for_each = local.accounts

  url    = "${var.mailvend_api}/addresses"
  method = "POST"
  request_headers = {
    Authorization = "Bearer ${data.aws_ssm_parameter.mailvend_token.value}"
    Content-Type  = "application/json"
    Accept        = "application/json"
  }
  request_body = jsonencode({
    owner           = each.value.owner
    account_type    = each.value.account_type
    business_unit   = each.value.business_unit
    application     = each.value.application
    environment     = each.value.environment
    tags            = { AccountRequest = each.key }
    idempotency_key = "tf:${each.key}"
  })

  # Safe to retry: the idempotency key turns a retried POST into a read.
  retry {
    attempts     = 4
    min_delay_ms = 500
    max_delay_ms = 4000
  }

  lifecycle {
    postcondition {
      condition     = contains([200, 201], self.status_code)
      error_message = "mailvend answered ${self.status_code}: ${self.response_body}"
    }
  }
}

# The first answer for each request, kept in state and never replaced: if the POST ever
# answers with another address (a new token has no record of the old token's keys), the
# account keeps the address it was created with instead of Terraform trying to change it.
resource "terraform_data" "root_email" {
  for_each = local.accounts
  input    = jsondecode(data.http.root_email[each.key].response_body)

  lifecycle {
    ignore_changes = [input]
  }
}

resource "aws_organizations_account" "this" {
  for_each = local.accounts

  name      = terraform_data.root_email[each.key].output.account_name
  email     = terraform_data.root_email[each.key].output.address
  parent_id = each.value.parent_id

  # Closing an account is a decision for people, not for a plan.
  close_on_deletion = false
  lifecycle {
    prevent_destroy = true
  }
}

output "root_emails" {
  value = { for k, v in terraform_data.root_email : k => v.output.address }
}
