# In the aft-account-request repository (terraform/main.tf): AFT's account requests, each with
# a root email vended by mailvend. The request's module key is its identity, so the
# idempotency key "aft:<key>" returns the same address on every run of the AFT pipeline.

terraform {
  required_version = ">= 1.4" # terraform_data
  required_providers {
    http = { source = "hashicorp/http", version = ">= 3.4" } # retry, POST bodies
  }
}

variable "mailvend_api" {
  type    = string
  default = "https://mailvend.example.com/api/v1"
}

# A vend-scope token in the AFT management account's Parameter Store (SecureString).
data "aws_ssm_parameter" "mailvend_token" {
  name = "/mailvend/vend-token"
}

locals {
  requests = {
    "payments-ledger-prod" = {
      owner         = "payments-platform@corp.example"
      account_type  = "IT"
      business_unit = "Payments"
      application   = "ledger"
      environment   = "prod"
      ou            = "Workloads"
      sso_email     = "jdoe@corp.example"
      sso_first     = "Jane"
      sso_last      = "Doe"
      customization = "payments"
    }
  }
}

data "http" "root_email" {
  for_each = local.requests

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
    tags            = { AftRequest = each.key }
    idempotency_key = "aft:${each.key}"
  })
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

# Pinned as in the plain Terraform example: Control Tower cannot change a provisioned
# account's email, so the request must keep sending the first one.
resource "terraform_data" "root_email" {
  for_each = local.requests
  input    = jsondecode(data.http.root_email[each.key].response_body)
  lifecycle {
    ignore_changes = [input]
  }
}

module "account_request" {
  for_each = local.requests
  source   = "./modules/aft-account-request"

  control_tower_parameters = {
    AccountEmail              = terraform_data.root_email[each.key].output.address
    AccountName               = terraform_data.root_email[each.key].output.account_name
    ManagedOrganizationalUnit = each.value.ou
    SSOUserEmail              = each.value.sso_email
    SSOUserFirstName          = each.value.sso_first
    SSOUserLastName           = each.value.sso_last
  }
  account_tags = {
    "mailvend:address" = terraform_data.root_email[each.key].output.address
  }
  change_management_parameters = {
    change_requested_by = each.value.sso_email
    change_reason       = "account request ${each.key}"
  }
  custom_fields               = {}
  account_customizations_name = each.value.customization
}
