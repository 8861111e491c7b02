# frozen_string_literal: true

require_relative "support/running_app"

# A session's page in headless Chromium while its job runs in another process (Sidekiq), the broadcasts crossing
# processes through Redis: each message appears without a reload, in order, and the status badge turns completed.
RSpec.describe "a session page, live", :browser do
  let(:app) { AgentSDKSpec::RunningApp.instance }

  # Every child added to #agent_messages, in the order the page saw them, and a mark a reload would erase.
  watch = <<~JS
    window.agentRowsSeen = [];
    window.agentPageMark = "not reloaded";
    new MutationObserver(function (records) {
      records.forEach(function (record) {
        record.addedNodes.forEach(function (node) { if (node.id) window.agentRowsSeen.push(node.id); });
      });
    }).observe(document.getElementById("agent_messages"), { childList: true });
  JS

  def create_session(prompt)
    app.console("AgentSession.create!(user: User.first, prompt: #{prompt.dump}).id")
  end

  # The rows of the session, as the database has them: their dom ids in position order.
  def row_ids(id)
    app.console("AgentSession.find(#{id}).agent_messages.map { |row| ActionView::RecordIdentifier.dom_id(row) }")
  end

  define_method(:open_and_subscribe) do |id|
    browser_page.visit(app.url("/agent_sessions/#{id}"))
    browser_page.wait_for("turbo-cable-stream-source[connected]")
    browser_page.execute(watch)
  end

  it "shows each message as the job in another process records it, in order, then the badge turns completed" do
    app.model.script([
      { tool_use: { name: "lookup_order", input: { "order_number" => "ORD-1042" } }, delay: 0.4,
        usage: { input_tokens: 1_350, output_tokens: 45 } },
      { tool_use: { name: "check_shipment_status", input: { "tracking_number" => "1Z999AA10123456784" } }, delay: 0.4,
        usage: { input_tokens: 1_520, output_tokens: 48 } },
      { text: "Order ORD-1042 was lost in transit; I have told Ada.", delay: 0.4,
        usage: { input_tokens: 1_690, output_tokens: 31 } }
    ])
    id = create_session("Customer Ada says order ORD-1042 never arrived.")
    open_and_subscribe(id)
    expect(browser_page.text("#status_agent_session_#{id}")).to eq("Pending")
    expect(browser_page.texts("#agent_messages .agent-message")).to be_empty

    app.console("AgentSession.find(#{id}).run!")
    badge = "#status_agent_session_#{id}"
    browser_page.wait_for("#{badge}.agent-status--running")
    browser_page.wait_for("#{badge}.agent-status--completed", timeout: 60)

    rows = row_ids(id)
    expect(rows.size).to be >= 6 # the prompt, two tool calls and their results, the answer, the result
    browser_page.wait_until("every row on the page") { browser_page.attributes("#agent_messages > [id]", "id") == rows }
    expect(browser_page.evaluate("window.agentRowsSeen")).to eq(rows) # each appended live, once, in order
    expect(browser_page.evaluate("window.agentPageMark")).to eq("not reloaded")
    expect(browser_page.texts("#agent_messages .agent-message__tool-name")).to eq(%w[lookup_order check_shipment_status])
    expect(browser_page.text("#agent_messages .agent-message--result [data-stat=num_turns]")).to eq("3")
    expect(browser_page.text(badge)).to eq("Completed")
    expect(app.model.agent_requests.size).to eq(3)
  end
end
