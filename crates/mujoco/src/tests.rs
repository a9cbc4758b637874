//! The safe layer on small hand-written models.

use std::io::Write;

use crate::{JointKind, Model, MujocoError, ObjectKind, Physics};

const PENDULUM: &str = r#"
<mujoco>
  <option timestep="0.01"/>
  <worldbody>
    <body name="pole" pos="0 0 1">
      <joint name="hinge" type="hinge" axis="0 1 0" limited="true" range="-90 90"/>
      <geom name="rod" type="capsule" fromto="0 0 0 0 0 -0.5" size="0.05"/>
    </body>
    <body name="ball" pos="1 0 1">
      <freejoint name="free"/>
      <geom type="sphere" size="0.1"/>
    </body>
  </worldbody>
  <actuator><motor joint="hinge" ctrlrange="-1 1" ctrllimited="true"/></actuator>
  <sensor><jointpos name="angle" joint="hinge"/></sensor>
</mujoco>
"#;

fn write_xml(text: &str) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new().suffix(".xml").tempfile().unwrap();
    file.write_all(text.as_bytes()).unwrap();
    file
}

#[test]
fn loads_a_model_and_reads_its_structure() {
    let file = write_xml(PENDULUM);
    let model = Model::from_xml(file.path()).unwrap();
    assert_eq!((model.nq(), model.nv(), model.nu()), (8, 7, 1));
    assert_eq!(model.nbody(), 3);
    assert_eq!(model.timestep(), 0.01);
    let hinge = model.joint(model.id(ObjectKind::Joint, "hinge").unwrap());
    assert_eq!(hinge.kind, JointKind::Hinge);
    assert!(hinge.limited);
    assert!((hinge.range[1] - std::f64::consts::FRAC_PI_2).abs() < 1e-12);
    let free = model.joint(model.id(ObjectKind::Joint, "free").unwrap());
    assert_eq!(
        (free.kind, free.qpos_adr, free.dof_adr),
        (JointKind::Free, 1, 1)
    );
    assert_eq!(model.name(ObjectKind::Body, 1), Some("pole"));
}

#[test]
fn a_broken_model_reports_mujocos_message_and_the_file() {
    let file = write_xml("<mujoco><worldbody><geom type=\"nonsense\"/></worldbody></mujoco>");
    let err = Model::from_xml(file.path()).unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, MujocoError::Load { .. }), "{text}");
    assert!(
        text.contains("nonsense"),
        "MuJoCo's text is missing: {text}"
    );
    assert!(text.contains(&file.path().display().to_string()), "{text}");
    let missing = Model::from_xml("/no/such/model.xml").unwrap_err();
    assert!(matches!(missing, MujocoError::Unreadable { .. }));
}

#[test]
fn unknown_names_and_wrong_lengths_are_errors() {
    let file = write_xml(PENDULUM);
    let mut physics = Physics::from_xml(file.path()).unwrap();
    let err = physics.model().id(ObjectKind::Body, "nope").unwrap_err();
    assert_eq!(err.to_string(), "the model has no body named \"nope\"");
    assert!(physics.set_ctrl(&[0.0, 1.0]).is_err());
    assert!(physics.set_qpos(&[0.0]).is_err());
}

#[test]
fn stepping_advances_time_and_moves_the_state() {
    let file = write_xml(PENDULUM);
    let mut physics = Physics::from_xml(file.path()).unwrap();
    physics.forward();
    let z0 = physics.xpos(2)[2];
    physics.set_ctrl(&[1.0]).unwrap();
    for _ in 0..10 {
        physics.step();
    }
    assert!((physics.time() - 0.1).abs() < 1e-12);
    assert!(physics.qpos()[0] > 0.0, "the motor turns the hinge");
    assert!(physics.xpos(2)[2] < z0, "the free ball falls");
    physics.forward();
    let angle = physics.sensor(0)[0];
    assert!(
        (angle - physics.qpos()[0]).abs() < 1e-12,
        "jointpos sensor {angle}"
    );
    physics.reset();
    assert_eq!(physics.time(), 0.0);
    assert_eq!(physics.qpos()[0], 0.0);
}

#[test]
fn physics_can_move_to_another_thread() {
    fn assert_send<T: Send>(_: &T) {}
    let file = write_xml(PENDULUM);
    let mut physics = Physics::from_xml(file.path()).unwrap();
    assert_send(&physics);
    let handle = std::thread::spawn(move || {
        physics.step();
        physics.time()
    });
    assert!(handle.join().unwrap() > 0.0);
}

#[test]
fn cloned_models_are_independent() {
    let file = write_xml(PENDULUM);
    let model = Model::from_xml(file.path()).unwrap();
    let mut copy = model.try_clone().unwrap();
    // SAFETY-free edit through the raw struct: change the timestep of the copy.
    copy.raw_mut().opt.timestep = 0.02;
    assert_eq!(model.timestep(), 0.01);
    assert_eq!(copy.timestep(), 0.02);
}

#[test]
fn linked_library_is_mujoco_2_2_2() {
    assert_eq!(crate::version(), 222);
}

#[test]
fn the_c_loop_steps_like_the_rust_loop() {
    let file = write_xml(PENDULUM);
    let mut a = Physics::from_xml(file.path()).unwrap();
    let mut b = Physics::from_xml(file.path()).unwrap();
    a.set_ctrl(&[0.5]).unwrap();
    b.set_ctrl(&[0.5]).unwrap();
    for _ in 0..25 {
        a.step();
    }
    b.step_n_in_c(25);
    assert_eq!(a.qpos(), b.qpos());
    assert_eq!(a.time(), b.time());
}
