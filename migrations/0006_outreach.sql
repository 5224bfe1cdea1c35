CREATE TABLE "campaign_links" (
	"campaign_id" bigint NOT NULL,
	"idx" integer NOT NULL,
	"url" text NOT NULL,
	"tracked" boolean NOT NULL,
	CONSTRAINT "campaign_links_campaign_id_idx_pk" PRIMARY KEY("campaign_id","idx")
);
--> statement-breakpoint
CREATE TABLE "campaigns" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"status" text DEFAULT 'draft' NOT NULL,
	"subject" text NOT NULL,
	"html" text NOT NULL,
	"claims" jsonb NOT NULL,
	"audience" jsonb NOT NULL,
	"daily_quota" integer NOT NULL,
	"schedule" jsonb NOT NULL,
	"utm_campaign" text NOT NULL,
	"created_by" text NOT NULL,
	"approved_by" text,
	"approved_at" timestamp with time zone,
	"paused_reason" text,
	"finished_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "campaigns_quota" CHECK ("campaigns"."daily_quota" > 0)
);
--> statement-breakpoint
CREATE TABLE "excluded_domains" (
	"domain" text PRIMARY KEY NOT NULL,
	"list" text NOT NULL,
	"note" text,
	"added_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mail_domains" (
	"domain" text PRIMARY KEY NOT NULL,
	"operator" text,
	"mx_hosts" text[],
	"mx_status" text,
	"tagged_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "mail_events" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"send_id" bigint NOT NULL,
	"kind" text NOT NULL,
	"link_idx" integer,
	"automated" boolean DEFAULT false NOT NULL,
	"user_agent" text,
	"ip" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "prospects" (
	"id" bigserial PRIMARY KEY NOT NULL,
	"source" text NOT NULL,
	"source_key" text NOT NULL,
	"email" text NOT NULL,
	"domain" text NOT NULL,
	"fields" jsonb NOT NULL,
	"deficiencies" text[] DEFAULT '{}'::text[] NOT NULL,
	"flags" text[] DEFAULT '{}'::text[] NOT NULL,
	"excluded_by" text,
	"last_sent_at" timestamp with time zone,
	"send_count" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
ALTER TABLE "checkouts" ADD COLUMN "campaign_send_id" bigint;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "campaign_send_id" bigint;--> statement-breakpoint
ALTER TABLE "mail_sends" ADD COLUMN "prospect_id" bigint;--> statement-breakpoint
ALTER TABLE "mail_sends" ADD COLUMN "operator" text;--> statement-breakpoint
ALTER TABLE "mail_sends" ADD COLUMN "send_day" date;--> statement-breakpoint
ALTER TABLE "mail_sends" ADD COLUMN "attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "mail_sends" ADD COLUMN "next_attempt_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mail_sends" ADD COLUMN "claimed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "mail_sends" ADD COLUMN "cancel_reason" text;--> statement-breakpoint
ALTER TABLE "campaign_links" ADD CONSTRAINT "campaign_links_campaign_id_campaigns_id_fk" FOREIGN KEY ("campaign_id") REFERENCES "public"."campaigns"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "campaigns_status" ON "campaigns" USING btree ("status");--> statement-breakpoint
CREATE INDEX "mail_domains_operator" ON "mail_domains" USING btree ("operator");--> statement-breakpoint
CREATE INDEX "mail_domains_untagged" ON "mail_domains" USING btree ("domain") WHERE "mail_domains"."tagged_at" is null;--> statement-breakpoint
CREATE INDEX "mail_events_send" ON "mail_events" USING btree ("send_id","kind");--> statement-breakpoint
CREATE UNIQUE INDEX "prospects_source_key" ON "prospects" USING btree ("source","source_key");--> statement-breakpoint
CREATE INDEX "prospects_email" ON "prospects" USING btree ("email");--> statement-breakpoint
CREATE INDEX "prospects_domain" ON "prospects" USING btree ("domain");--> statement-breakpoint
CREATE INDEX "prospects_do_not_contact" ON "prospects" USING btree ("email") WHERE "prospects"."flags" @> '{do_not_contact}'::text[];--> statement-breakpoint
CREATE INDEX "mail_sends_campaign_status" ON "mail_sends" USING btree ("campaign_id","status") WHERE "mail_sends"."campaign_id" is not null;--> statement-breakpoint
CREATE INDEX "mail_sends_claimed" ON "mail_sends" USING btree ("claimed_at") WHERE "mail_sends"."status" = 'sending';--> statement-breakpoint
CREATE INDEX "mail_sends_campaign_sent_at" ON "mail_sends" USING btree ("sent_at") WHERE "mail_sends"."kind" = 'campaign';--> statement-breakpoint
CREATE INDEX "mail_sends_send_day_operator" ON "mail_sends" USING btree ("send_day","operator") WHERE "mail_sends"."send_day" is not null;