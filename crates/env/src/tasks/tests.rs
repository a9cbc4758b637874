//! Behaviour of the four tasks on their real models.

use lam_mujoco::{JointKind, ObjectKind};

use crate::{Environment, TaskId};

fn env(task: TaskId, seed: u64) -> Environment {
    Environment::new(task, seed).expect("model files installed by scripts/setup.sh")
}

/// Puts the model at qpos0 with the given velocities and recomputes everything.
fn set_state(env: &mut Environment, qvel: &[f64]) {
    let physics = env.physics_mut();
    physics.reset();
    physics.set_qvel(qvel).unwrap();
    physics.forward();
}

#[test]
fn observation_and_action_sizes_match_the_suite() {
    for (task, obs, act) in [
        (TaskId::CheetahRun, 17, 6),
        (TaskId::WalkerRun, 24, 6),
        (TaskId::HopperHop, 15, 4),
        (TaskId::HumanoidWalk, 67, 21),
    ] {
        let mut e = env(task, 0);
        let first = e.reset().unwrap();
        assert_eq!(first.len(), obs, "{task} observation");
        assert_eq!(e.action_size(), act, "{task} actions");
        let step = e.step(&vec![0.1; act]).unwrap();
        assert_eq!(
            step.observation.len(),
            obs,
            "{task} observation after a step"
        );
        assert!(
            (0.0..=1.0).contains(&step.reward),
            "{task} reward {}",
            step.reward
        );
    }
}

#[test]
fn cheetah_reward_is_speed_over_ten() {
    let mut e = env(TaskId::CheetahRun, 0);
    for (speed, reward) in [
        (5.0, 0.5),
        (10.0, 1.0),
        (12.0, 1.0),
        (-3.0, 0.0),
        (2.5, 0.25),
    ] {
        let mut qvel = vec![0.0; 9];
        qvel[0] = speed; // rootx: every body moves forward at `speed`
        set_state(&mut e, &qvel);
        assert!(
            (e.reward() - reward).abs() < 1e-9,
            "at {speed} m/s: {} != {reward}",
            e.reward()
        );
    }
}

#[test]
fn walker_reward_at_hand_built_states() {
    let mut e = env(TaskId::WalkerRun, 0);
    // qpos0: torso at 1.3 m (standing), upright; at rest the move term is 0.
    set_state(&mut e, &[0.0; 9]);
    let at_rest = e.reward();
    assert!((at_rest - 1.0 / 6.0).abs() < 1e-9, "at rest {at_rest}");
    // Running at 8 m/s (qvel[1] is rootx) makes everything 1.
    let mut qvel = vec![0.0; 9];
    qvel[1] = 8.0;
    set_state(&mut e, &qvel);
    assert!((e.reward() - 1.0).abs() < 1e-9, "running {}", e.reward());
    // At 6 m/s the linear move term is halfway to its margin value: 0.75.
    qvel[1] = 6.0;
    set_state(&mut e, &qvel);
    let expected = (5.0 * 0.75 + 1.0) / 6.0;
    assert!((e.reward() - expected).abs() < 1e-9, "6 m/s {}", e.reward());
}

#[test]
fn hopper_reward_needs_standing_and_speed() {
    let mut e = env(TaskId::HopperHop, 0);
    let mut qvel = vec![0.0; 7];
    qvel[0] = 2.0; // rootx
    set_state(&mut e, &qvel);
    assert!(
        (e.reward() - 1.0).abs() < 1e-9,
        "standing, 2 m/s: {}",
        e.reward()
    );
    qvel[0] = 1.5;
    set_state(&mut e, &qvel);
    assert!(
        (e.reward() - 0.75).abs() < 1e-9,
        "standing, 1.5 m/s: {}",
        e.reward()
    );
    // Lying down (torso rotated 90 degrees at the rooty hinge): not standing.
    qvel[0] = 2.0;
    set_state(&mut e, &qvel);
    let physics = e.physics_mut();
    physics.qpos_mut()[2] = std::f64::consts::FRAC_PI_2;
    physics.forward();
    assert_eq!(e.reward(), 0.0);
}

#[test]
fn humanoid_reward_at_rest_and_walking() {
    let mut e = env(TaskId::HumanoidWalk, 0);
    // qpos0: upright, head at ~1.69 m, zero control; at rest move = 0.
    set_state(&mut e, &[0.0; 27]);
    assert!(
        (e.reward() - 1.0 / 6.0).abs() < 1e-9,
        "at rest {}",
        e.reward()
    );
    let mut qvel = vec![0.0; 27];
    qvel[0] = 0.6;
    qvel[1] = 0.8; // |v_xy| = 1 m/s
    set_state(&mut e, &qvel);
    assert!((e.reward() - 1.0).abs() < 1e-9, "walking {}", e.reward());
}

#[test]
fn same_seed_same_episode_other_seed_other_episode() {
    for task in TaskId::ALL {
        let run = |seed| {
            let mut e = env(task, seed);
            let mut trace = e.reset().unwrap();
            for t in 0..20 {
                let a: Vec<f64> = (0..e.action_size())
                    .map(|i| ((t * 7 + i) as f64 * 0.37).sin())
                    .collect();
                let s = e.step(&a).unwrap();
                trace.extend(s.observation);
                trace.push(s.reward);
            }
            trace
        };
        assert_eq!(run(3), run(3), "{task} is not deterministic");
        assert_ne!(run(3), run(4), "{task} ignores the seed");
    }
}

#[test]
fn resets_stay_within_joint_ranges() {
    for task in TaskId::ALL {
        let mut e = env(task, 11);
        for _ in 0..20 {
            e.reset().unwrap();
            // Cheetah settles for 200 steps after drawing; check the drawn
            // positions through the other tasks, and cheetah's within a
            // small tolerance for the soft joint limits.
            let tol = if task == TaskId::CheetahRun {
                0.1
            } else {
                1e-12
            };
            let model = e.physics().model();
            for j in 0..model.njnt() {
                let joint = model.joint(j);
                let q = e.physics().qpos()[joint.qpos_adr];
                match (joint.kind, joint.limited) {
                    (JointKind::Hinge | JointKind::Slide, true) => assert!(
                        q >= joint.range[0] - tol && q <= joint.range[1] + tol,
                        "{task} joint {:?} = {q} outside {:?}",
                        model.name(ObjectKind::Joint, j),
                        joint.range
                    ),
                    (JointKind::Free, _) => {
                        let quat = &e.physics().qpos()[joint.qpos_adr + 3..joint.qpos_adr + 7];
                        let norm: f64 = quat.iter().map(|v| v * v).sum();
                        assert!(
                            (norm - 1.0).abs() < 1e-9,
                            "free joint quaternion norm {norm}"
                        );
                    }
                    _ => {}
                }
            }
        }
    }
}

#[test]
fn humanoid_starts_without_contacts_and_cheetah_at_time_zero() {
    let mut e = env(TaskId::HumanoidWalk, 5);
    for _ in 0..5 {
        e.reset().unwrap();
        assert_eq!(e.physics().ncon(), 0);
    }
    let mut c = env(TaskId::CheetahRun, 5);
    for _ in 0..5 {
        c.reset().unwrap();
        assert_eq!(c.physics().time(), 0.0);
        // Only limited joints are drawn: after settling the root is near upright.
        let rooty = c.physics().qpos()[2];
        assert!(rooty.abs() < 0.5, "cheetah starts rotated by {rooty} rad");
    }
}

#[test]
fn episodes_end_after_1000_steps_and_bad_actions_are_refused() {
    let mut e = env(TaskId::CheetahRun, 1);
    assert!(e.step(&[0.0; 6]).is_err(), "step before reset must fail");
    e.reset().unwrap();
    assert!(e.step(&[0.0; 5]).is_err(), "wrong action size must fail");
    assert!(e.step(&[f64::NAN, 0.0, 0.0, 0.0, 0.0, 0.0]).is_err());
    let mut done_at = None;
    for t in 1..=1000 {
        if e.step(&[0.0; 6]).unwrap().done {
            done_at = Some(t);
            break;
        }
    }
    assert_eq!(done_at, Some(1000));
    assert!(e.step(&[0.0; 6]).is_err(), "step after the end must fail");
}

#[test]
fn actions_are_clipped_to_the_unit_box() {
    let mut a = env(TaskId::HopperHop, 2);
    let mut b = env(TaskId::HopperHop, 2);
    a.reset().unwrap();
    b.reset().unwrap();
    let sa = a.step(&[5.0, -7.0, 0.5, 1.0]).unwrap();
    let sb = b.step(&[1.0, -1.0, 0.5, 1.0]).unwrap();
    assert_eq!(sa, sb);
    assert_eq!(a.physics().ctrl(), &[1.0, -1.0, 0.5, 1.0]);
}
