CREATE TYPE "public"."verification_result" AS ENUM('unknown', 'smtp_valid', 'send_confirmed', 'catch_all', 'mx_probe_blocked', 'hard_bounced');--> statement-breakpoint
CREATE TABLE "alerts_sent" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"rule" text NOT NULL,
	"subject" text NOT NULL,
	"window_key" text NOT NULL,
	"title" text NOT NULL,
	"body" text NOT NULL,
	"metrics" jsonb,
	"deliveries" jsonb,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "bounce_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"inbound_message_id" bigint NOT NULL,
	"recipient_index" integer NOT NULL,
	"send_id" bigint,
	"matched_by" text,
	"recipient" text NOT NULL,
	"kind" text NOT NULL,
	"reason" text NOT NULL,
	"status" text,
	"reply_code" integer,
	"hard_bounce" boolean NOT NULL,
	"outcome" text,
	"diagnostic" text,
	"feedback_type" text,
	"occurred_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "dmarc_records" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"report_id" bigint NOT NULL,
	"source_ip" text NOT NULL,
	"ours" boolean NOT NULL,
	"count" integer NOT NULL,
	"disposition" text NOT NULL,
	"dkim" text NOT NULL,
	"spf" text NOT NULL,
	"dkim_aligned" boolean NOT NULL,
	"spf_aligned" boolean NOT NULL,
	"dmarc_pass" boolean NOT NULL,
	"header_from" text NOT NULL,
	"envelope_from" text,
	"auth_results" jsonb NOT NULL,
	"reasons" jsonb
);
--> statement-breakpoint
CREATE TABLE "dmarc_reports" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"org_name" text NOT NULL,
	"report_id" text NOT NULL,
	"email" text,
	"domain" text NOT NULL,
	"begin_at" timestamp with time zone NOT NULL,
	"end_at" timestamp with time zone NOT NULL,
	"policy_published" jsonb NOT NULL,
	"inbound_message_id" bigint,
	"warnings" jsonb,
	"recorded_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "email_addresses" (
	"address" text PRIMARY KEY NOT NULL,
	"domain" text NOT NULL,
	"verification_result" "verification_result" DEFAULT 'unknown' NOT NULL,
	"soft_bounces" integer DEFAULT 0 NOT NULL,
	"last_bounce_at" timestamp with time zone,
	"last_delivered_at" timestamp with time zone,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mail_sends" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"message_id" text NOT NULL,
	"kind" text NOT NULL,
	"recipient" text NOT NULL,
	"campaign_id" bigint,
	"status" text DEFAULT 'sending' NOT NULL,
	"smtp_code" integer,
	"smtp_enhanced" text,
	"smtp_text" text,
	"outcome" text,
	"bounce_reason" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"sent_at" timestamp with time zone,
	"bounced_at" timestamp with time zone,
	"delivered_at" timestamp with time zone,
	"complained_at" timestamp with time zone
);
--> statement-breakpoint
CREATE TABLE "suppressions" (
	"address" text PRIMARY KEY NOT NULL,
	"reason" text NOT NULL,
	"source" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mta_daily_aggregates" (
	"day" date NOT NULL,
	"sending_ip" text NOT NULL,
	"operator" text NOT NULL,
	"outcome" text NOT NULL,
	"reason_code" text NOT NULL,
	"count" integer NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "mta_daily_aggregates_day_sending_ip_operator_outcome_reason_code_pk" PRIMARY KEY("day","sending_ip","operator","outcome","reason_code")
);
--> statement-breakpoint
CREATE TABLE "mta_log_lines" (
	"line_hash" text PRIMARY KEY NOT NULL,
	"day" date NOT NULL,
	"ingested_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD COLUMN "content_hash" text;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD COLUMN "kind" text;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD COLUMN "detail" jsonb;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD COLUMN "error" text;--> statement-breakpoint
ALTER TABLE "inbound_messages" ADD COLUMN "processed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "bounce_events" ADD CONSTRAINT "bounce_events_inbound_message_id_inbound_messages_id_fk" FOREIGN KEY ("inbound_message_id") REFERENCES "public"."inbound_messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "bounce_events" ADD CONSTRAINT "bounce_events_send_id_mail_sends_id_fk" FOREIGN KEY ("send_id") REFERENCES "public"."mail_sends"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dmarc_records" ADD CONSTRAINT "dmarc_records_report_id_dmarc_reports_id_fk" FOREIGN KEY ("report_id") REFERENCES "public"."dmarc_reports"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "dmarc_reports" ADD CONSTRAINT "dmarc_reports_inbound_message_id_inbound_messages_id_fk" FOREIGN KEY ("inbound_message_id") REFERENCES "public"."inbound_messages"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "alerts_sent_once" ON "alerts_sent" USING btree ("rule","subject","window_key");--> statement-breakpoint
CREATE UNIQUE INDEX "bounce_events_message_recipient" ON "bounce_events" USING btree ("inbound_message_id","recipient_index");--> statement-breakpoint
CREATE INDEX "bounce_events_recipient" ON "bounce_events" USING btree ("recipient");--> statement-breakpoint
CREATE INDEX "bounce_events_occurred_at" ON "bounce_events" USING btree ("occurred_at");--> statement-breakpoint
CREATE INDEX "dmarc_records_report" ON "dmarc_records" USING btree ("report_id");--> statement-breakpoint
CREATE INDEX "dmarc_records_source_ip" ON "dmarc_records" USING btree ("source_ip");--> statement-breakpoint
CREATE UNIQUE INDEX "dmarc_reports_org_report" ON "dmarc_reports" USING btree ("org_name","report_id");--> statement-breakpoint
CREATE INDEX "dmarc_reports_end_at" ON "dmarc_reports" USING btree ("end_at");--> statement-breakpoint
CREATE INDEX "email_addresses_domain" ON "email_addresses" USING btree ("domain");--> statement-breakpoint
CREATE UNIQUE INDEX "mail_sends_message_recipient" ON "mail_sends" USING btree ("message_id","recipient");--> statement-breakpoint
CREATE INDEX "mail_sends_recipient" ON "mail_sends" USING btree ("recipient");--> statement-breakpoint
CREATE INDEX "mail_sends_created_at" ON "mail_sends" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "mail_sends_campaign_recipient" ON "mail_sends" USING btree ("campaign_id","recipient") WHERE "mail_sends"."campaign_id" is not null;--> statement-breakpoint
CREATE UNIQUE INDEX "inbound_messages_processed_once" ON "inbound_messages" USING btree (coalesce("message_id", ''),"content_hash") WHERE "inbound_messages"."status" in ('processed', 'failed');